/**
 * Vocabulary shared between domains. Closeness between domains comes from here: the security pool is used by the
 * cyber chats, the agent transcripts, the code changes and the phishing e-mails; the harm-request phrasing by both
 * harm chats; reviews and support tickets share consumer words; the reasoning traces share little with the rest.
 */
export const PEOPLE = [
  "my neighbour",
  "my ex",
  "my boss",
  "my roommate",
  "a coworker",
  "my landlord",
  "a classmate",
  "my sister's boyfriend",
  "the guy next door",
  "a former friend",
];
export const DEADLINES = [
  "by tomorrow morning",
  "before Friday",
  "by the end of the day",
  "within the hour",
  "before my exam on Monday",
  "by tonight",
  "before the meeting at 3pm",
  "this weekend",
];
export const NO_DEADLINE = [
  "whenever you have time",
  "no rush",
  "just curious",
  "for future reference",
  "out of interest",
  "",
];

/** Security actions and objects, shared by cyber chats, agent transcripts, code changes and phishing e-mails. */
export const SECURITY = {
  secrets: [
    "password",
    "API key",
    "SSH key",
    "access token",
    "credentials file",
    "session cookie",
    "database password",
    "admin login",
  ],
  systems: [
    "email account",
    "company VPN",
    "home router",
    "web server",
    "laptop",
    "cloud account",
    "Wi-Fi network",
    "database",
  ],
  protective: [
    "two-factor authentication",
    "a password manager",
    "the firewall",
    "disk encryption",
    "automatic updates",
    "audit logging",
    "backups",
  ],
  /** concrete files and services, the same ones the agent transcripts touch */
  artifacts: [
    "~/.aws/credentials file",
    "/var/backups/db backups",
    "authorized_keys file",
    "auditd monitoring",
    "/etc/app/secrets.env file",
    "/etc/shadow file",
  ],
  attack: [
    "a keylogger",
    "ransomware",
    "a phishing page",
    "a botnet",
    "a brute-force script",
    "a remote access trojan",
    "a credential stealer",
  ],
};

export const HARM_OPENERS = [
  "I need help with something.",
  "Quick question.",
  "Can you walk me through this?",
  "Please be specific.",
  "I've been thinking about this for a while.",
  "Don't lecture me, just answer.",
  "Hi!",
  "Hey there.",
];

export const CONSUMER = {
  products: [
    "headphones",
    "coffee maker",
    "laptop bag",
    "blender",
    "smart watch",
    "desk lamp",
    "phone case",
    "vacuum cleaner",
    "monitor",
    "keyboard",
  ],
  feelings: ["disappointed", "frustrated", "pleased", "surprised", "annoyed", "happy", "confused", "impressed"],
};
