/** Film reviews with an overall sentiment (the paper's IMDB). Aspects often disagree with the verdict. */
import { type Gen, capitalise, type DomainSpec } from "../gen.js";

const FILMS = [
  "The Long Harbour",
  "Night Train to Oslo",
  "Paper Moons",
  "The Glass Orchard",
  "Iron Meadow",
  "A Quiet Signal",
  "Saltwater Kings",
  "The Last Cartographer",
  "Ember Lane",
  "Seven Winters",
  "Blue Static",
  "The Hollow Crown Affair",
];
const ASPECTS: Record<string, { pos: string[]; neg: string[] }> = {
  plot: {
    pos: [
      "the plot is clever and keeps you guessing",
      "the story builds to a satisfying twist",
      "the script is tight and surprising",
    ],
    neg: [
      "the plot makes no sense by the second act",
      "the story is predictable from the first scene",
      "the script is full of holes",
    ],
  },
  acting: {
    pos: [
      "the lead gives a career-best performance",
      "the cast is superb, especially the supporting actors",
      "the acting feels natural and moving",
    ],
    neg: [
      "the acting is wooden throughout",
      "the lead seems bored in every scene",
      "the cast delivers their lines like a table read",
    ],
  },
  music: {
    pos: [
      "the score is haunting and beautiful",
      "the soundtrack lifts every scene",
      "the music is used with real restraint",
    ],
    neg: [
      "the score is loud and manipulative",
      "the soundtrack never lets a scene breathe",
      "the music is forgettable",
    ],
  },
  visuals: {
    pos: ["the cinematography is gorgeous", "every frame looks like a painting", "the effects are seamless"],
    neg: ["the cinematography is murky and flat", "the effects look cheap", "it is shot with no sense of space"],
  },
  pacing: {
    pos: ["the pacing is brisk and confident", "two hours fly by", "it never drags"],
    neg: ["the pacing is glacial", "the middle hour drags badly", "it is at least forty minutes too long"],
  },
};
const VERDICT_POS = [
  "Overall, I loved it.",
  "Highly recommended.",
  "Not perfect, but well worth watching.",
  "I would happily see it again.",
  "It is far from a waste of time.",
  "I can't say I regret the ticket.",
  "A solid nine out of ten.",
];
const VERDICT_NEG = [
  "Overall, I would skip it.",
  "Not recommended.",
  "A few good moments, but not worth the ticket.",
  "I won't be watching it again.",
  "It is far from the masterpiece it wants to be.",
  "I can't say I enjoyed it.",
  "Three out of ten at best.",
];
const OPENERS = [
  "I watched {film} last night.",
  "{film} finally arrived in cinemas.",
  "I went into {film} with high hopes.",
  "My friends dragged me to {film}.",
  "{film} has been getting a lot of buzz.",
];
const BUT = ["That said,", "On the other hand,", "Still,", "Even so,", "Meanwhile,", "Also,"];

export const reviews: DomainSpec = {
  domain: "reviews",
  analogue: "IMDB movie reviews",
  generate(g: Gen) {
    const positive = g.chance(0.5);
    const mentionsActing = g.chance(0.5);
    const pool = Object.keys(ASPECTS).filter((a) => a !== "acting");
    const aspects = g.sample(pool, g.int(2, 3));
    if (mentionsActing) aspects.splice(g.int(0, aspects.length), 0, "acting");
    const film = g.pick(FILMS);
    const parts = [g.fill(g.pick(OPENERS), { film })];
    const polarities: Record<string, boolean> = {};
    aspects.forEach((a, i) => {
      // aspects agree with the verdict 65% of the time: a reviewer who liked a film can still fault its music
      const pol = g.chance(0.65) ? positive : !positive;
      polarities[a] = pol;
      const s = g.pick(pol ? ASPECTS[a].pos : ASPECTS[a].neg);
      parts.push(i > 0 && g.chance(0.4) ? `${g.pick(BUT)} ${s}.` : `${capitalise(s)}.`);
    });
    const verdict = g.pick(positive ? VERDICT_POS : VERDICT_NEG);
    parts.push(verdict);
    return { text: parts.join(" "), facts: { positive, mentionsActing, film, aspects: polarities, verdict } };
  },
  tasks: [
    {
      id: "reviews_sentiment",
      prompt: "Here is a film review.\n\n{text}\n\nIs the reviewer's overall opinion of the film positive?",
      label: (f) => f.positive === true,
      rule: "the review's overall verdict is positive",
    },
    {
      id: "reviews_acting",
      prompt: "Here is a film review.\n\n{text}\n\nDoes the review comment on the acting or the cast?",
      label: (f) => f.mentionsActing === true,
      rule: "an acting/cast aspect sentence is present",
    },
  ],
};
