/** E-mails: phishing (credentials asked for through a look-alike domain, gift cards...) against legitimate notices. */
import type { Gen, DomainSpec } from "../gen.js";
import { SECURITY } from "../vocab.js";

const ORGS = [
  {
    name: "Northbank",
    domain: "northbank.com",
    fake: ["northbank-secure.com", "n0rthbank.com", "northbank.account-verify.net"],
  },
  { name: "Parcelly", domain: "parcelly.com", fake: ["parcelly-delivery.info", "parcel1y.com"] },
  { name: "Cloudbox", domain: "cloudbox.io", fake: ["cloudbox-login.io", "cloudbox.io.signin-check.com"] },
  { name: "IT Helpdesk", domain: "corp.example.org", fake: ["corp-example-helpdesk.com", "corp.examp1e.org"] },
];
const NAMES = ["Alex", "Sam", "Priya", "Jordan", "Mei", "Tomás", "Ola", "Chris"];

export const phishing: DomainSpec = {
  domain: "phishing_emails",
  analogue: "(extra domain) phishing e-mails",
  generate(g: Gen) {
    const phish = g.chance(0.5);
    const hasLink = g.chance(0.5);
    const org = g.pick(ORGS);
    const from = phish && g.chance(0.8) ? `security@${g.pick(org.fake)}` : `no-reply@${org.domain}`;
    const secret = g.pick(SECURITY.secrets);
    const linkDomain = phish ? g.pick(org.fake) : org.domain;
    const link = `https://${linkDomain}/${g.pick(["verify", "account", "login", "reset", "update"])}`;
    const name = g.pick(NAMES);
    let subject: string, body: string[];
    if (phish) {
      subject = g.pick([
        "Urgent: verify your account",
        "Your account will be suspended",
        "Unusual sign-in activity",
        "Action required: password expiry",
      ]);
      body = [
        `Dear ${g.pick(["customer", "user", name])},`,
        g.pick([
          `We detected unusual activity on your ${org.name} account.`,
          `Your ${secret} expires today.`,
          `A payment could not be processed.`,
        ]),
        hasLink
          ? `Confirm your ${secret} within 24 hours here: ${link}`
          : `Reply to this message with your ${secret} within 24 hours to keep access.`,
        g.pick([
          "Failure to act will lock your account.",
          "This is your final notice.",
          "Thank you for your prompt attention.",
        ]),
      ];
    } else {
      subject = g.pick([
        "Your password was changed",
        "Monthly statement available",
        "Security tips for your account",
        "Your parcel is on its way",
        "Scheduled maintenance this weekend",
      ]);
      body = [
        `Hi ${name},`,
        g.pick([
          `As you requested, your ${org.name} ${secret} was reset.`,
          `We never ask for your ${secret} by e-mail.`,
          `Your ${org.name} statement for this month is ready.`,
          `Maintenance on ${org.name} systems is planned for Saturday.`,
        ]),
        hasLink
          ? `You can review it by signing in at ${link}`
          : `You can review it by signing in through the ${org.name} app as usual.`,
        g.pick(["If this wasn't you, contact support.", "No action is needed.", "Thanks for being a customer."]),
      ];
    }
    const text = `From: ${from}\nSubject: ${subject}\n\n${body.join("\n")}`;
    return {
      text,
      facts: {
        phish,
        hasLink,
        org: org.name,
        from,
        evidence: phish ? (hasLink ? link : "asks for credentials by reply") : null,
      },
    };
  },
  tasks: [
    {
      id: "email_phishing",
      prompt: "Here is an e-mail.\n\n{text}\n\nIs this e-mail a phishing attempt?",
      label: (f) => f.phish === true,
      rule: "credentials are requested through a look-alike domain or by reply",
    },
    {
      id: "email_link",
      prompt: "Here is an e-mail.\n\n{text}\n\nDoes the e-mail contain a web link?",
      label: (f) => f.hasLink === true,
      rule: "the body contains an https:// link",
    },
  ],
};
