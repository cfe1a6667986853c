/**
 * A word-level tokenizer read from a Hugging Face `tokenizer.json`, reproducing the Python `tokenizers`
 * library for the components a word-level package uses. We do not use the JavaScript port here: it
 * diverges from Python (out-of-vocabulary words get no id; `Punctuation("isolated")` keeps runs like
 * "?!" together), and train/serve parity needs identical ids. Any component outside the supported set
 * is refused at load, never approximated.
 */

export interface WordLevelEncoding {
  ids: number[];
  /** The piece each id came from (the raw word for unknown words). */
  pieces: string[];
}

type Normalizer = (text: string) => string;
type PreTokenizer = (pieces: string[]) => string[];

// Rust's char::is_ascii_punctuation plus Unicode punctuation categories, as `tokenizers` uses.
const PUNCTUATION = /[!-/:-@[-`{-~\p{P}]/u;
const WHITESPACE = /\s+/u;
// `Whitespace` pre-tokenizer: \w+|[^\w\s]+ with Unicode word characters.
const WORD_OR_SYMBOLS = /[\p{L}\p{N}\p{M}\p{Pc}]+|[^\p{L}\p{N}\p{M}\p{Pc}\s]+/gu;

/** Thrown for tokenizer.json content this implementation does not reproduce exactly. */
export class UnsupportedTokenizerError extends Error {}

export class WordLevelTokenizer {
  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly idToToken: ReadonlyMap<number, string>,
    private readonly unkId: number,
    /** Added (special) tokens, longest first: matched on the raw text before normalisation. */
    private readonly added: readonly { content: string; id: number }[],
    private readonly normalize: Normalizer,
    private readonly preTokenize: PreTokenizer,
  ) {}

  /** Builds the tokenizer from a parsed tokenizer.json; throws UnsupportedTokenizerError naming what is unsupported. */
  static fromJson(json: unknown): WordLevelTokenizer {
    const spec = json as {
      model?: { type?: string; vocab?: Record<string, number>; unk_token?: string };
      normalizer?: unknown;
      pre_tokenizer?: unknown;
      added_tokens?: { id: number; content: string }[];
    };
    if (spec.model?.type !== 'WordLevel' || !spec.model.vocab || !spec.model.unk_token) {
      throw new UnsupportedTokenizerError(`model type ${spec.model?.type ?? 'missing'} (only WordLevel is supported)`);
    }
    const vocab = new Map(Object.entries(spec.model.vocab));
    for (const token of spec.added_tokens ?? []) vocab.set(token.content, token.id);
    const unkId = vocab.get(spec.model.unk_token);
    if (unkId === undefined) throw new UnsupportedTokenizerError(`unk token ${spec.model.unk_token} is not in the vocabulary`);
    const added = [...(spec.added_tokens ?? [])]
      .map(({ content, id }) => ({ content, id }))
      .sort((a, b) => b.content.length - a.content.length);
    return new WordLevelTokenizer(
      vocab,
      new Map([...vocab].map(([token, id]) => [id, token])),
      unkId,
      added,
      buildNormalizer(spec.normalizer ?? null),
      buildPreTokenizer(spec.pre_tokenizer ?? null),
    );
  }

  /** Vocabulary size including added tokens. */
  get size(): number {
    return this.vocab.size;
  }

  tokenId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  token(id: number): string | undefined {
    return this.idToToken.get(id);
  }

  /** Ids of the text's words (no template tokens); unknown words map to the UNK id. */
  encode(text: string): WordLevelEncoding {
    const encoding: WordLevelEncoding = { ids: [], pieces: [] };
    for (const part of this.splitAdded(text)) {
      if (typeof part === 'number') {
        encoding.ids.push(part);
        encoding.pieces.push(this.idToToken.get(part)!);
        continue;
      }
      for (const word of this.preTokenize([this.normalize(part)])) {
        if (word.length === 0) continue;
        encoding.ids.push(this.vocab.get(word) ?? this.unkId);
        encoding.pieces.push(word);
      }
    }
    return encoding;
  }

  /** Splits out exact occurrences of added tokens (as `tokenizers` does before normalising). */
  private splitAdded(text: string): (string | number)[] {
    let parts: (string | number)[] = [text];
    for (const { content, id } of this.added) {
      parts = parts.flatMap((part) => {
        if (typeof part === 'number' || !part.includes(content)) return [part];
        return part.split(content).flatMap((piece, index) => (index === 0 ? [piece] : [id, piece]));
      });
    }
    return parts.filter((part) => part !== '');
  }
}

function buildNormalizer(spec: unknown): Normalizer {
  if (spec === null) return (text) => text;
  const { type, ...options } = spec as { type: string } & Record<string, unknown>;
  switch (type) {
    case 'Sequence': {
      const steps = (options.normalizers as unknown[]).map(buildNormalizer);
      return (text) => steps.reduce((value, step) => step(value), text);
    }
    case 'Lowercase':
      return (text) => text.toLowerCase();
    case 'Strip': {
      const left = options.strip_left !== false;
      const right = options.strip_right !== false;
      return (text) => (left && right ? text.trim() : left ? text.trimStart() : right ? text.trimEnd() : text);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (text) => text.normalize(type);
    default:
      throw new UnsupportedTokenizerError(`normalizer ${type}`);
  }
}

function buildPreTokenizer(spec: unknown): PreTokenizer {
  if (spec === null) return (pieces) => pieces;
  const { type, ...options } = spec as { type: string } & Record<string, unknown>;
  switch (type) {
    case 'Sequence': {
      const steps = (options.pretokenizers as unknown[]).map(buildPreTokenizer);
      return (pieces) => steps.reduce((value, step) => step(value), pieces);
    }
    case 'WhitespaceSplit':
      return (pieces) => pieces.flatMap((piece) => piece.split(WHITESPACE).filter(Boolean));
    case 'Whitespace':
      return (pieces) => pieces.flatMap((piece) => piece.match(WORD_OR_SYMBOLS) ?? []);
    case 'Punctuation': {
      const behavior = typeof options.behavior === 'string' ? options.behavior : 'Isolated';
      if (behavior !== 'Isolated' && behavior !== 'Removed' && behavior !== 'Contiguous') {
        throw new UnsupportedTokenizerError(`Punctuation behavior ${behavior}`);
      }
      return (pieces) => pieces.flatMap((piece) => splitPunctuation(piece, behavior));
    }
    default:
      throw new UnsupportedTokenizerError(`pre-tokenizer ${type}`);
  }
}

function splitPunctuation(piece: string, behavior: 'Isolated' | 'Removed' | 'Contiguous'): string[] {
  const out: string[] = [];
  let word = '';
  let run = '';
  const flushWord = () => {
    if (word) out.push(word);
    word = '';
  };
  const flushRun = () => {
    if (run) out.push(run);
    run = '';
  };
  for (const char of piece) {
    if (!PUNCTUATION.test(char)) {
      flushRun();
      word += char;
      continue;
    }
    flushWord();
    if (behavior === 'Isolated') out.push(char);
    else if (behavior === 'Contiguous') run += char;
  }
  flushRun();
  flushWord();
  return out;
}
