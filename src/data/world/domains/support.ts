/** Customer support tickets: refund requests and the customer's mood, which vary independently. */
import type { Gen, DomainSpec } from "../gen.js";
import { CONSUMER } from "../vocab.js";

export const supportTickets: DomainSpec = {
  domain: "support_tickets",
  analogue: "(extra domain) customer support tickets",
  generate(g: Gen) {
    const refund = g.chance(0.5);
    const upset = g.chance(0.5);
    const product = g.pick(CONSUMER.products);
    const order = `#${g.int(10000, 99999)}`;
    const problem = g.pick([
      `the ${product} stopped working after a week`,
      `the ${product} arrived scratched`,
      `I was charged twice for order ${order}`,
      `the ${product} is not what the photos showed`,
      `my ${product} order ${order} is late`,
    ]);
    const ask = refund
      ? g.pick([
          `Please refund order ${order}.`,
          "I want my money back.",
          "Can you return the payment to my card?",
          "I'd like a full refund, not a replacement.",
        ])
      : g.pick([
          "Can you send a replacement?",
          "How do I get it repaired?",
          "What is your refund policy, out of interest? For now I'd just like it fixed.",
          "Could you tell me when it will arrive?",
        ]);
    const mood = upset
      ? g.pick([
          "This is completely unacceptable.",
          "I am really fed up with this.",
          "Third time I'm writing, and nobody answers!",
          "Honestly, I'm furious.",
        ])
      : g.pick([
          "Thanks for your help.",
          "No big deal, just letting you know.",
          "I appreciate your time.",
          "Have a nice day!",
        ]);
    const text = `${g.shuffle([`Hello, ${problem}.`, ask]).join(" ")} ${mood}`;
    return { text: `Ticket ${order}\n${text}`, facts: { refund, upset, product } };
  },
  tasks: [
    {
      id: "support_refund",
      prompt: "Here is a customer support ticket.\n\n{text}\n\nIs the customer asking for a refund?",
      label: (f) => f.refund === true,
      rule: "the request sentence asks for money back",
    },
    {
      id: "support_upset",
      prompt: "Here is a customer support ticket.\n\n{text}\n\nIs the customer upset?",
      label: (f) => f.upset === true,
      rule: "the mood sentence is angry",
    },
  ],
};
