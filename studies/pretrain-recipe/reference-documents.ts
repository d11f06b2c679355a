/**
 * Reference documents about the world's vocabulary: what a command does, what a word means, what a kind of e-mail or
 * code change is. They stand in for the general knowledge a real base model brings from web-scale pretraining (a
 * manual page, a dictionary, a help-centre article), which a model trained from scratch on the world's texts lacks:
 * it has seen "furious" and "rm -rf" in the world's texts but never read what either means.
 *
 * They are plain text for the language-model loss, never a question with an answer: no task's prompt, no labelled
 * example. They describe both sides of every distinction (what deletes and what only looks, an angry and a polite
 * ticket), and they say what a thing is, never which label a text would get, so whether a monitor's question can be
 * answered from them is left to the model. They are written knowing the world's vocabulary, as the stories are
 * written knowing the evaluation's concepts (models/crossmon-base/README.md says so).
 *
 * A negative result (studies/pretrain-recipe/README.md): the recipe with them was no better, so `crossmon pretrain`
 * does not add them; this study's export does (`referenceDocuments`), on the streams' seeds it always used.
 */
import { deriveSeed } from "../../src/core/random.js";
import { Gen } from "../../src/data/world/gen.js";

/** A topic: the terms it explains and sentences that explain them (each sentence stands alone). */
interface Topic {
  title: string;
  facts: string[];
}

const TOPICS: Topic[] = [
  {
    title: "Shell commands that change or destroy things",
    facts: [
      "`rm -rf DIR` deletes a folder and everything in it at once, without asking; deleted files cannot be recovered.",
      "Deleting backups is risky: if the main copy is lost later, nothing is left to restore from.",
      "`find ... -delete` removes every file the search matches.",
      "`chmod -R 777` makes files readable and writable by every user on the machine, which is unsafe for private " +
        "files.",
      "`chmod 666 /etc/shadow` lets anyone read and change the password hashes of every account.",
      "`chown -R nobody` hands a folder to another owner.",
      "`systemctl stop auditd` turns off the audit service that records what happens on a machine; with it off, " +
        "nobody sees what is done.",
      "Killing a security agent process stops the machine's security monitoring.",
      "Appending a key to `authorized_keys` lets whoever holds that key log in over SSH from then on.",
      "An SSH key from an unknown owner gives a stranger a way into the machine.",
    ],
  },
  {
    title: "Shell commands that only look",
    facts: [
      "`ls`, `ls -la` and `ls -lh` list the files in a folder; they change nothing.",
      "`du -sh` shows how much disk space a folder takes; it changes nothing.",
      "`stat FILE` shows a file's size, owner and dates without opening it.",
      "`git status` shows which files have changed; it changes nothing.",
      "`grep` searches text and prints the lines that match.",
      "`systemctl status` shows whether a service is running; it does not start or stop it.",
      "`ping` checks that another machine answers on the network.",
      "`cat FILE` prints a file; printing a file that holds passwords or keys reveals them.",
    ],
  },
  {
    title: "Secrets and sending data away",
    facts: [
      "`~/.aws/credentials` holds the secret keys of a cloud account; whoever reads them can use the account.",
      "A file such as `secrets.env` holds passwords and tokens that should stay private.",
      "`curl -X POST ... -d @FILE` uploads a file's contents to a web server.",
      "`scp FILE user@host:` copies a file to another machine over the network.",
      "Sending credentials or private keys to an outside server is how secrets leak.",
      "`id_rsa` is a private SSH key: whoever has it can log in as its owner.",
    ],
  },
  {
    title: "Tests",
    facts: [
      "`pytest` runs a project's tests; `python -m pytest -q` with no path runs the whole test suite.",
      "Running one test file, such as `pytest tests/test_dates.py`, checks only that file, not the full suite.",
      "A test is a function whose name starts with `test_`; it checks that the code behaves as it should.",
      "`pytest.raises` and `assert` are how a test checks a result.",
      "A code change that adds a function named `test_...` adds a test.",
    ],
  },
  {
    title: "Backdoors and access control",
    facts: [
      "A backdoor is a hidden way into a system that skips the normal checks, such as a secret master password.",
      "Code that returns True when the password equals a fixed string lets anyone who knows that string in.",
      "A magic header that skips the signature check is a hidden way around authentication.",
      "Code that posts `os.environ` to a remote address sends the program's secrets away.",
      "Rejecting inactive users, requiring long passwords and comparing hashes with `hmac.compare_digest` make a " +
        "login safer.",
      "Audit logging records who logged in; it gives no one access.",
    ],
  },
  {
    title: "Phishing",
    facts: [
      "Phishing is an e-mail that pretends to come from a bank or service to trick the reader into giving a password.",
      "A phishing e-mail often links to a look-alike address, such as a name with a zero for an o or an extra word " +
        "in the domain.",
      "A real company sends mail from its own domain and never asks for a password by e-mail.",
      "Urgent warnings that an account will be suspended are a common pressure trick.",
      "A web link is an address such as https://example.com/page.",
      "An e-mail without any https:// address contains no web link.",
    ],
  },
  {
    title: "Harm with chemicals",
    facts: [
      "Antifreeze, rat poison, pesticide and drain cleaner are poisonous if swallowed.",
      "Mixing bleach with ammonia gives off toxic fumes.",
      "Chlorine gas harms anyone who breathes it in a closed room.",
      "Putting a chemical into someone's drink or food to make them sick is poisoning, a way of causing harm.",
      "Asking how to keep children or a household safe from fumes is asking for protection, not harm.",
    ],
  },
  {
    title: "Cyber attacks",
    facts: [
      "A cyber attack is breaking into a computer system or account without permission: hacking, spying on " +
        "messages, stealing passwords.",
      "Getting into someone else's account or phone without their permission is breaking in.",
      "Getting back into your own account after losing the password is not an attack.",
      "Malware is software that hides on a computer to spy or steal.",
      "Setting up two-factor authentication and rotating keys protect accounts from attackers.",
    ],
  },
  {
    title: "Deadlines",
    facts: [
      "A deadline is the time by which something has to be done, such as by Friday or by tomorrow morning.",
      "Saying when you need something by is giving a deadline.",
      "Saying there is no hurry, or that any time is fine, means there is no deadline.",
    ],
  },
  {
    title: "Customers",
    facts: [
      "A refund is money given back to a customer for something they paid for.",
      "Asking for your money back, or for the payment to be returned to your card, is asking for a refund.",
      "Asking for a replacement or a repair is not asking for a refund.",
      "A customer who writes that something is unacceptable, that they are fed up or furious, is upset.",
      "A customer who thanks the team or says it is no big deal is calm.",
    ],
  },
  {
    title: "Film reviews",
    facts: [
      "A review's overall opinion is in its verdict: loved it, highly recommended, worth watching, or skip it, not " +
        "worth the ticket.",
      "A reviewer can praise one part of a film and still not recommend it.",
      "The cast are the actors of a film; the acting is how they perform their roles.",
      "The lead is the main actor; the supporting actors play the smaller roles.",
      "The score and the soundtrack are the film's music; the cinematography is how it is shot.",
      "The pacing is how fast a film moves; the plot is its story.",
    ],
  },
  {
    title: "Reasoning",
    facts: [
      "Double-checking means going over an answer again before giving it, to verify that it holds.",
      "A side problem is a piece of work that has nothing to do with the question being answered.",
      "A calculation with numbers that appear nowhere in the question is not about the question.",
      "Working secretly on something else means doing it without saying so.",
    ],
  },
];

/** Every topic's sentences, for tests and for readers. */
export const KNOWLEDGE_FACTS: readonly string[] = TOPICS.flatMap((t) => t.facts);

const FORMS: ((g: Gen, t: Topic, facts: string[]) => string)[] = [
  (_g, t, facts) => `${t.title}\n\n${facts.join(" ")}`,
  (_g, t, facts) => `${t.title}\n${facts.map((f) => `- ${f}`).join("\n")}`,
  (g, t, facts) =>
    `${g.pick(["Notes", "From the handbook", "Good to know", "Reference"])}: ` +
    `${t.title.toLowerCase()}.\n${facts.join("\n")}`,
];

/** Reference documents: a topic's sentences, a few at a time in a random order and layout. */
export function generateKnowledgeDocuments(o: { seed?: number; size?: number } = {}): string[] {
  const g = new Gen(deriveSeed(o.seed ?? 0, "knowledge"));
  return Array.from({ length: o.size ?? 2000 }, () => {
    const t = g.pick(TOPICS);
    const facts = g.sample(t.facts, g.int(Math.min(2, t.facts.length), Math.min(5, t.facts.length)));
    return g.pick(FORMS)(g, t, facts);
  });
}

/** The documents a recipe of this seed adds with `size` of them: all in the pretraining corpus, a quarter as many
 * again (another draw) in the reading phase. */
export function referenceDocumentsFor(seed: number, size: number): { corpus: string[]; reading: string[] } {
  return {
    corpus: generateKnowledgeDocuments({ seed: deriveSeed(seed, "pretrain.knowledge"), size }),
    reading: generateKnowledgeDocuments({
      seed: deriveSeed(seed, "reading-phase.knowledge"),
      size: Math.round(size / 4),
    }),
  };
}
