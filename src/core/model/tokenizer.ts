/**
 * Text → fixed-length int64 ids for the `text` graph, from the package's Hugging Face `tokenizer.json`
 * (read from disk; nothing is fetched). The rule is model/hbi/data/tokenizer.py's `encode_batch`:
 * [BOS] words [EOS], cut to L keeping [EOS] last, padded with [PAD] to L; the mask is 1 for real tokens.
 * Words the vocabulary lacks are reported, not silently dropped.
 */
import { readFile } from 'node:fs/promises';

import { HbiError } from '../errors.js';
import type { ModelManifest } from './manifest.js';
import { UnsupportedTokenizerError, WordLevelTokenizer } from './word-level-tokenizer.js';

export interface EncodedText {
  /** [L] token ids, padded. */
  inputIds: BigInt64Array;
  /** [L] 1 for real tokens (BOS, words, EOS), 0 for padding. */
  attentionMask: BigInt64Array;
  /** Tokens as the model sees them, without padding (unknown words appear as the UNK token). */
  tokens: string[];
  /** Words (after normalisation) that mapped to UNK, in order of first appearance. */
  unknownWords: string[];
  /** True when the text had more than L-2 words and the tail was cut. */
  truncated: boolean;
}

export class TextTokenizer {
  private constructor(
    private readonly tokenizer: WordLevelTokenizer,
    private readonly spec: ModelManifest['tokenizer'],
    /** L: the length every encoding has. */
    readonly maxWords: number,
  ) {}

  /** Loads `tokenizer.json` and checks its special tokens and vocabulary size against the manifest. */
  static async load(file: string, manifest: ModelManifest): Promise<TextTokenizer> {
    let tokenizer: WordLevelTokenizer;
    try {
      tokenizer = WordLevelTokenizer.fromJson(JSON.parse(await readFile(file, 'utf8')));
    } catch (error) {
      const why = error instanceof UnsupportedTokenizerError ? `unsupported ${error.message}` : 'cannot read it';
      throw new HbiError('MODEL_PACKAGE_INVALID', `Tokenizer ${file}: ${why}`, { cause: error });
    }
    const spec = manifest.tokenizer;
    const problems: string[] = [];
    for (const [token, id] of [
      [spec.pad, spec.pad_id],
      [spec.unk, spec.unk_id],
      [spec.bos, spec.bos_id],
      [spec.eos, spec.eos_id],
    ] as const) {
      const actual = tokenizer.tokenId(token);
      if (actual !== id) problems.push(`token ${token} has id ${actual ?? 'none'}, manifest says ${id}`);
    }
    if (tokenizer.size !== manifest.dims.vocab) {
      problems.push(`vocabulary has ${tokenizer.size} tokens, manifest dims.vocab is ${manifest.dims.vocab}`);
    }
    if (manifest.dims.max_words < 2) problems.push('max_words must leave room for BOS and EOS');
    if (problems.length > 0) {
      throw new HbiError('MODEL_PACKAGE_INVALID', `Tokenizer ${file} does not match the manifest: ${problems.join('; ')}`, {
        details: { problems },
      });
    }
    return new TextTokenizer(tokenizer, spec, manifest.dims.max_words);
  }

  /** Encodes one text to exactly L ids and mask values. */
  encode(text: string): EncodedText {
    const content = this.tokenizer.encode(text);
    const unknown = new Set<string>();
    content.ids.forEach((id, index) => {
      if (id === this.spec.unk_id && content.pieces[index] !== this.spec.unk) unknown.add(content.pieces[index]!);
    });
    const limit = this.maxWords - 2;
    const ids = [this.spec.bos_id, ...content.ids.slice(0, limit), this.spec.eos_id];
    const inputIds = new BigInt64Array(this.maxWords).fill(BigInt(this.spec.pad_id));
    const attentionMask = new BigInt64Array(this.maxWords);
    ids.forEach((id, index) => {
      inputIds[index] = BigInt(id);
      attentionMask[index] = 1n;
    });
    return {
      inputIds,
      attentionMask,
      tokens: ids.map((id) => this.tokenizer.token(id) ?? this.spec.unk),
      unknownWords: [...unknown],
      truncated: content.ids.length > limit,
    };
  }

  /** Ids back to words joined by spaces, without special tokens or padding (for captions). */
  decode(ids: readonly number[]): string {
    const special = new Set([this.spec.pad_id, this.spec.unk_id, this.spec.bos_id, this.spec.eos_id]);
    return ids
      .filter((id) => !special.has(id))
      .map((id) => this.tokenizer.token(id) ?? this.spec.unk)
      .join(' ');
  }

  /** Id of a token string, or undefined. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.tokenId(token);
  }
}
