// Readable default client names such as "brisk-otter-27".
// Uniqueness within a network is the caller's job: a conditional write claims the name, retried with a new one on conflict.

const ADJECTIVES = [
  'agile', 'amber', 'bold', 'brave', 'breezy', 'bright', 'brisk', 'calm', 'clever', 'cosmic',
  'crisp', 'curious', 'daring', 'dusty', 'eager', 'early', 'fancy', 'fearless', 'fluffy', 'frosty',
  'gentle', 'glad', 'golden', 'grand', 'happy', 'hasty', 'humble', 'icy', 'jolly', 'keen',
  'kind', 'lively', 'lucky', 'lunar', 'mellow', 'merry', 'mighty', 'misty', 'nimble', 'noble',
  'patient', 'plucky', 'polite', 'proud', 'quick', 'quiet', 'rapid', 'rosy', 'rustic', 'shiny',
  'silent', 'silver', 'sleepy', 'snowy', 'solar', 'steady', 'sunny', 'swift', 'tidy', 'vivid',
  'warm', 'wise', 'witty', 'zesty',
] as const;

const NOUNS = [
  'badger', 'beaver', 'bison', 'condor', 'cougar', 'coyote', 'crane', 'dingo', 'dolphin', 'eagle',
  'falcon', 'ferret', 'finch', 'fox', 'gazelle', 'gecko', 'heron', 'hippo', 'ibis', 'jackal',
  'jaguar', 'koala', 'lemur', 'leopard', 'lynx', 'magpie', 'marmot', 'marten', 'meerkat', 'moose',
  'narwhal', 'ocelot', 'orca', 'osprey', 'otter', 'owl', 'panda', 'panther', 'pelican', 'penguin',
  'puffin', 'quokka', 'rabbit', 'raven', 'robin', 'salmon', 'seal', 'sparrow', 'stork', 'tapir',
  'tiger', 'toucan', 'turtle', 'walrus', 'weasel', 'wolf', 'wombat', 'yak', 'zebra',
] as const;

const NUMBERS = 100;

const pick = <T>(items: readonly T[], random: () => number): T =>
  items[Math.min(items.length - 1, Math.floor(random() * items.length))]!;

export function generateClientName(random: () => number = Math.random): string {
  const number = Math.min(NUMBERS - 1, Math.floor(random() * NUMBERS));
  return `${pick(ADJECTIVES, random)}-${pick(NOUNS, random)}-${number}`;
}

export const CLIENT_NAME_WORDS = { adjectives: ADJECTIVES, nouns: NOUNS, numbers: NUMBERS } as const;
