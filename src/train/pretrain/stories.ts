/**
 * Everyday stories and yes/no questions about them: the "general knowledge" a pretrained language model brings to a
 * monitoring question before any monitor training. A story strings together a few scenes (someone means to hurt or
 * to help, keeps or breaks a rule, does something risky or safe, tricks or tells the truth, keeps to a job or secretly
 * does another, likes or dislikes a thing, is upset or calm, asks for something, has a deadline or not, shares a web
 * address or not, checks their work or not, talks about the performers or something else, gets in somewhere without
 * the right to or with it), told in the first or the third person. Each concept is asked in several phrasings, some
 * negated, and every story is asked two questions with opposite answers, so a question can only be answered by reading
 * both the question and the story.
 *
 * Stories are not an evaluation domain: their sentence frames and words are their own (people by first name, home and
 * school life), and no evaluation task's prompt appears in them (a test checks). They teach the concepts that the
 * evaluation questions use, as a real base model knows them from pretraining, never a task's question with its labels.
 */
import { deriveSeed } from "../../core/random.js";
import { Gen, capitalise } from "../../data/world/gen.js";
import { TEXT_SLOT } from "../../data/task.js";
import type { ReadingQuestion } from "./reading.js";

const NAMES = [
  "Ada",
  "Ben",
  "Cleo",
  "Dev",
  "Esme",
  "Finn",
  "Gita",
  "Hugo",
  "Iris",
  "Jonas",
  "Kemi",
  "Leo",
  "Maya",
  "Nico",
  "Olga",
  "Pavel",
  "Rosa",
  "Sami",
  "Tara",
  "Ugo",
];

interface Scene {
  sentences: string[];
  /** questions this scene answers: [question, answer, reasoning] */
  questions: [string, boolean, string][];
}

/** the subject of a story: "I" (first person) or a name; forms for the verbs and questions */
interface Who {
  name: string;
  /** "I" or the name, at the start of a sentence */
  subj: string;
  /** "the writer" or the name, inside a question */
  ref: string;
  first: boolean;
}

const verb = (w: Who, first: string, third: string) => (w.first ? first : third);

const HURT = [
  "slip something into {v}'s drink to make them sick",
  "push {v} down the stairs",
  "break {v}'s bike",
  "spoil {v}'s food on purpose",
  "steal {v}'s savings",
  "lock {v} out in the cold",
  "make {v} fall ill",
  "ruin {v}'s exam",
  "get {v} into trouble with a lie",
];
const HELP = [
  "make {v} a hot drink to feel better",
  "carry {v}'s shopping",
  "fix {v}'s bike",
  "cook dinner for {v}",
  "lend {v} some money",
  "walk {v} home safely",
  "look after {v} when ill",
  "help {v} study for the exam",
  "stand up for {v}",
];

function intentScene(g: Gen, w: Who, victim: string): Scene {
  const kind = g.int(0, 2);
  if (kind === 0) {
    const hurts = g.chance(0.5);
    const act = g.fill(g.pick(hurts ? HURT : HELP), { v: victim });
    const s = `${w.subj} ${verb(w, "want", "wants")} to ${act}.`;
    return { sentences: [s], questions: intentQs(w, hurts, s) };
  }
  if (kind === 1) {
    // the same words either way: only where "not" sits decides it
    const wants = g.chance(0.5);
    const s = wants
      ? `${w.subj} ${verb(w, "want", "wants")} ${victim} to get hurt and ${verb(w, "do", "does")} not want anyone ` +
        `to see.`
      : `${w.subj} ${verb(w, "do", "does")} not want ${victim} to get hurt and ${verb(w, "want", "wants")} ` +
        `everyone to see.`;
    return { sentences: [s], questions: intentQs(w, wants, s) };
  }
  // helping or stopping someone else who hurts or helps
  const other = g.pick(NAMES.filter((n) => n !== w.name && n !== victim));
  const otherHurts = g.chance(0.5);
  const helps = g.chance(0.5);
  const act = g.fill(g.pick(otherHurts ? HURT : HELP), { v: victim });
  const s =
    `${other} is going to ${act}. ${w.subj} ` +
    (helps ? `${verb(w, "help", "helps")} ${other} do it` : `${verb(w, "try", "tries")} to stop ${other}`) +
    ".";
  const bad = otherHurts === helps;
  return { sentences: [s], questions: intentQs(w, bad, s) };
}

function intentQs(w: Who, bad: boolean, why: string): Scene["questions"] {
  return [
    [`Does ${w.ref} want to cause harm to someone?`, bad, why],
    [`Is ${w.ref} trying to hurt somebody?`, bad, why],
    [`Does ${w.ref} mean well toward the others in the story?`, !bad, why],
  ];
}

const RULE_ACTS: [string, string][] = [
  ["use the car", "used the car"],
  ["open the locked drawer", "opened the locked drawer"],
  ["delete the old files", "deleted the old files"],
  ["give out the door code", "gave out the door code"],
  ["turn off the alarm", "turned off the alarm"],
  ["read the private letters", "read the private letters"],
  ["sell the old piano", "sold the old piano"],
  ["invite people over", "invited people over"],
];

function ruleScene(g: Gen, w: Who): Scene {
  const [act, past] = g.pick(RULE_ACTS);
  const boss = g.pick(["Mum", "the teacher", "the manager", "the landlady", "Grandpa"]);
  // a rule broken half the time; otherwise allowed and done, allowed and not done, or forbidden and not done
  const broke = g.chance(0.5);
  const [allowed, did] = broke
    ? [false, true]
    : g.pick([
        [true, true],
        [true, false],
        [false, false],
      ] as const);
  const rule = allowed
    ? `${boss} said ${w.first ? "I" : w.name} could ${act}.`
    : `${boss} told ${w.first ? "me" : w.name} not to ${act}.`;
  const deed = did ? `Later ${w.subj === "I" ? "I" : w.name} ${past}.` : `${w.subj} did not ${act}.`;
  const why = `${rule} ${deed}`;
  return {
    sentences: [rule, deed],
    questions: [
      [`Did ${w.ref} do something they had been told not to do?`, broke, why],
      [`Did ${w.ref} break a rule?`, broke, why],
      [`Did ${w.ref} keep to what ${boss} said?`, !broke, why],
    ],
  };
}

const RISKY = [
  "left the gas on all night",
  "turned off the smoke alarm",
  "gave the house keys to a stranger",
  "deleted every family photo without a copy",
  "drove home after drinking",
  "left the baby alone in the bath",
];
const SAFE = [
  "checked the gas was off",
  "tested the smoke alarm",
  "kept the house keys in a safe place",
  "made a copy of the family photos",
  "took a taxi home",
  "stayed with the baby in the bath",
];

function dangerScene(g: Gen, w: Who): Scene {
  const risky = g.chance(0.5);
  const i = g.int(0, RISKY.length - 1);
  const s = `${w.subj} ${(risky ? RISKY : SAFE)[i]}.`;
  return {
    sentences: [s],
    questions: [
      [`Did ${w.ref} do something dangerous?`, risky, s],
      [`Was what ${w.ref} did risky?`, risky, s],
      [`Did ${w.ref} act safely?`, !risky, s],
    ],
  };
}

function trickScene(g: Gen, w: Who, other: string): Scene {
  const lie = g.chance(0.5);
  const pretend = g.pick([
    "the prize is real",
    "the ticket is free",
    "the letter is from the bank",
    "the dog is friendly",
    "the shop is closed",
  ]);
  const s = lie
    ? `${w.subj} ${verb(w, "tell", "tells")} ${other} that ${pretend}, but it is not true: ` +
      `${w.first ? "I" : w.name} just ${verb(w, "want", "wants")} ${other}'s money.`
    : `${w.subj} ${verb(w, "tell", "tells")} ${other} that ${pretend}, and it is true.`;
  return {
    sentences: [s],
    questions: [
      [`Is ${w.ref} trying to trick ${other}?`, lie, s],
      [`Is ${w.ref} lying to ${other}?`, lie, s],
      [`Is ${w.ref} honest with ${other}?`, !lie, s],
    ],
  };
}

const JOBS = ["paint the fence", "tidy the garage", "finish the maths homework", "wash the car"];
const SIDE = [
  "read someone else's diary",
  "copied a friend's phone contacts",
  "planned a trip in secret",
  "wrote a secret letter",
];

function sideScene(g: Gen, w: Who): Scene {
  const job = g.pick(JOBS);
  const side = g.chance(0.5);
  const by = g.pick(["Dad", "the coach", "a neighbour"]);
  const s1 = `${by} asked ${w.first ? "me" : w.name} to ${job}.`;
  const s2 = side
    ? `${w.subj} did it, but on the side ${w.first ? "I" : w.name} quietly ${g.pick(SIDE)} and told no one.`
    : `${w.subj} did just that and nothing else.`;
  return {
    sentences: [s1, s2],
    questions: [
      [`Did ${w.ref} secretly do something other than the job?`, side, `${s1} ${s2}`],
      [`Is ${w.ref} hiding some of what they did?`, side, `${s1} ${s2}`],
      [`Did ${w.ref} stick to the job ${by} gave?`, !side, `${s1} ${s2}`],
    ],
  };
}

const THINGS = ["the new cafe", "the school play", "the soup", "the concert", "the museum", "the book"];
const LIKE = ["loved {t}", "really enjoyed {t}", "thought {t} was wonderful", "was delighted by {t}"];
const DISLIKE = ["hated {t}", "was bored by {t}", "thought {t} was awful", "regretted going to {t}"];

function opinionScene(g: Gen, w: Who): Scene {
  const thing = g.pick(THINGS);
  const likes = g.chance(0.5);
  const hedge = g.chance(0.3);
  const s = hedge
    ? `${w.subj} ${verb(w, "say", "says")} ${thing} was ` +
      `${likes ? "not bad at all, even better than expected" : "not good at all, worse than expected"}.`
    : `${w.subj} ${g.fill(g.pick(likes ? LIKE : DISLIKE), { t: thing })}.`;
  return {
    sentences: [s],
    questions: [
      [`Did ${w.ref} like ${thing}?`, likes, s],
      [`Is ${w.ref}'s opinion of ${thing} good?`, likes, s],
      [`Was ${w.ref} unhappy with ${thing}?`, !likes, s],
    ],
  };
}

function moodScene(g: Gen, w: Who): Scene {
  const upset = g.chance(0.5);
  const s = upset
    ? `${w.subj} ${verb(w, "am", "is")} ${g.pick(["furious", "very upset", "fed up", "angry", "in tears"])} ` +
      `${g.pick(["about the bus", "after the call", "about the noise", "today"])}.`
    : `${w.subj} ${verb(w, "am", "is")} ${g.pick(["calm", "cheerful", "relaxed", "in a good mood", "content"])} ` +
      `${g.pick(["about the bus", "after the call", "about the noise", "today"])}.`;
  return {
    sentences: [s],
    questions: [
      [`Is ${w.ref} upset?`, upset, s],
      [`Is ${w.ref} angry or sad?`, upset, s],
      [`Is ${w.ref} in a calm mood?`, !upset, s],
    ],
  };
}

function askScene(g: Gen, w: Who, other: string): Scene {
  const money = g.chance(0.5);
  const s = money
    ? `${w.subj} ${verb(w, "ask", "asks")} ${other} to ` +
      `${g.pick(["give the money back", "return the money for the tickets", "pay back what was paid"])}.`
    : `${w.subj} ${verb(w, "ask", "asks")} ${other} to ` +
      `${g.pick(["come to dinner", "return the borrowed ladder", "call back later", "bring the map"])}.`;
  return {
    sentences: [s],
    questions: [
      [`Does ${w.ref} want money back?`, money, s],
      [`Is ${w.ref} asking ${other} to repay money?`, money, s],
    ],
  };
}

function timeScene(g: Gen, w: Who): Scene {
  const due = g.chance(0.5);
  const s = due
    ? `${w.subj} ${verb(w, "have", "has")} to finish ${g.pick(["the letter", "the model boat", "the cake"])} ` +
      `${g.pick(["before noon", "by Sunday", "by six o'clock", "before the guests arrive"])}.`
    : `${w.subj} can finish ${g.pick(["the letter", "the model boat", "the cake"])} ` +
      `${g.pick(["any time", "whenever", "some day", "with no hurry"])}.`;
  return {
    sentences: [s],
    questions: [
      [`Does ${w.ref} have a time limit?`, due, s],
      [`Must ${w.ref} be done by a certain time?`, due, s],
    ],
  };
}

const SITES = ["bakeclub", "riverwalks", "chess-corner", "garden-tips", "the-choir", "bike-swap"];
const PAGES = [
  "the cake recipe",
  "the walking map",
  "the puzzle of the week",
  "the seed list",
  "the song sheet",
  "the bike photos",
];

function linkScene(g: Gen, w: Who, other: string): Scene {
  const i = g.int(0, PAGES.length - 1);
  const link = g.chance(0.5);
  const s = link
    ? `${w.subj} ${verb(w, "send", "sends")} ${other} ${PAGES[i]}: ` +
      `https://www.${g.pick(SITES)}.net/${g.pick(["page", "notes", "share", "p"])}${g.int(2, 98)}.`
    : `${w.subj} ${verb(w, "tell", "tells")} ${other} about ${PAGES[i]} ` +
      `${g.pick(["over tea", "on the phone", "after school", "at the bus stop"])}.`;
  return {
    sentences: [s],
    questions: [
      [`Is there a web address in the story?`, link, s],
      [`Does ${w.ref} share a link to a web page?`, link, s],
      [`Is the story free of any web address?`, !link, s],
    ],
  };
}

const MADE = ["a bird box", "a kite", "a birthday cake", "a shelf", "a model bridge", "the sums for the shop"];
const TRIED = [
  "tried every part of it to make sure it worked",
  "checked it twice before handing it over",
  "tested it carefully first",
  "went over it again to catch any mistake",
];
const UNTRIED = [
  "handed it over straight away",
  "gave it away without trying it",
  "did not look at it again",
  "put it in the box unchecked",
];

function checkScene(g: Gen, w: Who): Scene {
  const checked = g.chance(0.5);
  const s = `${w.subj} made ${g.pick(MADE)} and ${g.pick(checked ? TRIED : UNTRIED)}.`;
  return {
    sentences: [s],
    questions: [
      [`Did ${w.ref} test or check the work before finishing?`, checked, s],
      [`Did ${w.ref} make sure the work was right?`, checked, s],
      [`Did ${w.ref} skip checking the work?`, !checked, s],
    ],
  };
}

const SHOWS = ["the school play", "the puppet show", "the village pantomime", "the new film"];
const ABOUT_PERFORMERS = [
  "the actors were {a}",
  "the girl who played the queen was {a}",
  "the whole cast was {a}",
  "the lead actor was {a}",
];
const ABOUT_OTHER = ["the costumes were {a}", "the songs were {a}", "the hall was {a}", "the story was {a}"];

function performerScene(g: Gen, w: Who): Scene {
  const performers = g.chance(0.5);
  const s =
    `${w.subj} saw ${g.pick(SHOWS)} and ${verb(w, "say", "says")} ` +
    `${g.fill(g.pick(performers ? ABOUT_PERFORMERS : ABOUT_OTHER), {
      a: g.pick(performers ? ["wonderful", "stiff", "lovely", "dull"] : ["wonderful", "lovely", "dull", "too loud"]),
    })}.`;
  return {
    sentences: [s],
    questions: [
      [`Does ${w.ref} say something about the people performing?`, performers, s],
      [`Does ${w.ref} talk about the actors?`, performers, s],
      [`Does ${w.ref} leave the performers out of it?`, !performers, s],
    ],
  };
}

const PLACES = ["locker", "phone", "shed", "diary app", "email account"];

function accessScene(g: Gen, w: Who, other: string): Scene {
  const place = g.pick(PLACES);
  const kind = g.int(0, 1);
  // getting into something: someone else's, without leave, or one's own / with leave
  const wrong = g.chance(0.5);
  const s =
    kind === 0
      ? wrong
        ? `${w.subj} ${verb(w, "want", "wants")} to get into ${other}'s ${place} without ${other} knowing, by ` +
          `guessing the code.`
        : `${w.subj} forgot the code of ${w.first ? "my" : "their"} own ${place} and ${verb(w, "ask", "asks")} how ` +
          `to get back in.`
      : wrong
        ? `${w.subj} fixed ${other}'s ${place} and quietly added a spare way in that only ` +
          `${w.first ? "I" : w.name} ${verb(w, "know", "knows")} about.`
        : `${w.subj} fixed ${other}'s ${place} and gave back every key and code.`;
  return {
    sentences: [s],
    questions: [
      [`Is ${w.ref} getting into something without the right to?`, wrong, s],
      [`Does ${w.ref} set up or use a secret way in?`, wrong, s],
      [`Does ${w.ref} only get in where they are allowed?`, !wrong, s],
    ],
  };
}

const INTROS = ["Here is a short story.", "Read this story.", "Here is a note someone wrote.", "Here is a text."];

/** A story of two to four scenes about one main person, with the question bank of every scene. */
export function generateStory(g: Gen): { text: string; questions: Scene["questions"] } {
  const name = g.pick(NAMES);
  const first = g.chance(0.4);
  const w: Who = first ? { name, subj: "I", ref: "the writer", first } : { name, subj: name, ref: name, first };
  const others = g.sample(
    NAMES.filter((n) => n !== name),
    2,
  );
  const makers: ((g: Gen) => Scene)[] = [
    (g) => intentScene(g, w, others[0]),
    (g) => ruleScene(g, w),
    (g) => dangerScene(g, w),
    (g) => trickScene(g, w, others[1]),
    (g) => sideScene(g, w),
    (g) => opinionScene(g, w),
    (g) => moodScene(g, w),
    (g) => askScene(g, w, others[1]),
    (g) => timeScene(g, w),
    (g) => linkScene(g, w, others[1]),
    (g) => checkScene(g, w),
    (g) => performerScene(g, w),
    (g) => accessScene(g, w, others[0]),
  ];
  const scenes = g.sample(makers, g.int(2, 4)).map((m) => m(g));
  const text = scenes
    .flatMap((s) => s.sentences)
    .map(capitalise)
    .join(" ");
  return { text, questions: scenes.flatMap((s) => s.questions) };
}

/**
 * Yes/no questions about stories, two per story with opposite answers where the story allows (it almost always does),
 * so that what decides the answer is the question as much as the story.
 */
export function generateStoryQuestions(o: { seed?: number; size?: number } = {}): ReadingQuestion[] {
  const size = o.size ?? 2000;
  const g = new Gen(deriveSeed(o.seed ?? 0, "stories"));
  const out: ReadingQuestion[] = [];
  while (out.length < size) {
    const { text, questions } = generateStory(g);
    const intro = g.pick(INTROS);
    const yes = questions.filter((q) => q[1]),
      no = questions.filter((q) => !q[1]);
    const pair = yes.length && no.length ? [g.pick(yes), g.pick(no)] : [g.pick(questions)];
    for (const [question, answer, why] of g.shuffle(pair)) {
      if (out.length >= size) break;
      out.push({
        id: `story-${out.length}`,
        prompt: `${intro}\n\n${TEXT_SLOT}\n\n${question}`,
        text,
        answer,
        reasoning: `The story says: "${capitalise(why)}" So the answer is ${answer ? "yes" : "no"}.`,
      });
    }
  }
  return out;
}
