import path from 'node:path';

import { describe, expect, it } from 'vitest';

import type { HbiError } from '../../../src/core/errors.js';
import { loadModelPackage } from '../../../src/core/model/package-loader.js';
import { TextTokenizer } from '../../../src/core/model/tokenizer.js';
import { TINY_PACKAGE } from '../../helpers/fixtures.js';

async function tokenizer(): Promise<TextTokenizer> {
  const loaded = await loadModelPackage(TINY_PACKAGE);
  return TextTokenizer.load(path.join(TINY_PACKAGE, 'tokenizer.json'), loaded.manifest);
}

const ids = (values: BigInt64Array) => Array.from(values, Number);

describe('TextTokenizer', () => {
  it('encodes to exactly L int64 ids: BOS, lower-cased words, EOS, then PAD; mask marks real tokens', async () => {
    const encoded = (await tokenizer()).encode('A Red ball');
    // vocab: [PAD]=0 [UNK]=1 [BOS]=2 [EOS]=3 a=4 red=5 ball=6 …
    expect(ids(encoded.inputIds)).toEqual([2, 4, 5, 6, 3, 0]);
    expect(ids(encoded.attentionMask)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(encoded.tokens).toEqual(['[BOS]', 'a', 'red', 'ball', '[EOS]']);
    expect(encoded.unknownWords).toEqual([]);
    expect(encoded.truncated).toBe(false);
  });

  it('reports words outside the vocabulary instead of dropping them silently', async () => {
    const encoded = (await tokenizer()).encode('a purple dog, a purple cat');
    expect(encoded.unknownWords).toEqual(['purple', ',']);
    expect(ids(encoded.inputIds).slice(0, 3)).toEqual([2, 4, 1]);
  });

  it('truncates to L-2 words and keeps EOS last, like Hugging Face truncation with the template', async () => {
    const encoded = (await tokenizer()).encode('the dog runs on the grass');
    expect(ids(encoded.inputIds)).toEqual([2, 10, 7, 8, 9, 3]);
    expect(encoded.truncated).toBe(true);
  });

  it('encodes an empty text as BOS EOS', async () => {
    expect(ids((await tokenizer()).encode('').inputIds)).toEqual([2, 3, 0, 0, 0, 0]);
  });

  it('decodes ids without special tokens', async () => {
    expect((await tokenizer()).decode([2, 4, 5, 6, 3, 0])).toBe('a red ball');
  });

  it('refuses a tokenizer whose special ids or vocabulary size differ from the manifest', async () => {
    const { manifest } = await loadModelPackage(TINY_PACKAGE);
    const wrong = { ...manifest, dims: { ...manifest.dims, vocab: 99 }, tokenizer: { ...manifest.tokenizer, eos_id: 7 } };
    const error = await TextTokenizer.load(path.join(TINY_PACKAGE, 'tokenizer.json'), wrong).catch((e: HbiError) => e);
    expect((error as HbiError).code).toBe('MODEL_PACKAGE_INVALID');
    expect((error as HbiError).message).toContain('token [EOS] has id 3, manifest says 7');
    expect((error as HbiError).message).toContain('vocabulary has 14 tokens, manifest dims.vocab is 99');
  });
});

describe('TextTokenizer parity with the Python tokenizers library', () => {
  it('produces the ids and mask Python produces with truncation and padding to L', async () => {
    const { readFile } = await import('node:fs/promises');
    const cases = JSON.parse(
      await readFile(new URL('../../fixtures/onnx/tokenizer-parity.json', import.meta.url), 'utf8'),
    ) as { text: string; content_ids: number[]; ids: number[]; mask: number[] }[];
    const tok = await tokenizer();
    const { WordLevelTokenizer } = await import('../../../src/core/model/word-level-tokenizer.js');
    const words = WordLevelTokenizer.fromJson(JSON.parse(await readFile(path.join(TINY_PACKAGE, 'tokenizer.json'), 'utf8')));
    for (const { text, content_ids: contentIds, ids: expectedIds, mask } of cases) {
      expect(words.encode(text).ids, text).toEqual(contentIds);
      const encoded = tok.encode(text);
      expect(ids(encoded.inputIds), text).toEqual(expectedIds);
      expect(ids(encoded.attentionMask), text).toEqual(mask);
    }
  });
});

describe('WordLevelTokenizer', () => {
  const base = {
    model: { type: 'WordLevel', vocab: { '[UNK]': 0, red: 1 }, unk_token: '[UNK]' },
    added_tokens: [{ id: 0, content: '[UNK]' }],
  };

  it('refuses components it cannot reproduce exactly, naming them', async () => {
    const { WordLevelTokenizer } = await import('../../../src/core/model/word-level-tokenizer.js');
    expect(() => WordLevelTokenizer.fromJson({ ...base, model: { ...base.model, type: 'BPE' } })).toThrow(/model type BPE/);
    expect(() => WordLevelTokenizer.fromJson({ ...base, normalizer: { type: 'Replace' } })).toThrow(/normalizer Replace/);
    expect(() => WordLevelTokenizer.fromJson({ ...base, pre_tokenizer: { type: 'Metaspace' } })).toThrow(/pre-tokenizer Metaspace/);
  });

  it('splits punctuation one character at a time with the Isolated behaviour', async () => {
    const { WordLevelTokenizer } = await import('../../../src/core/model/word-level-tokenizer.js');
    const tok = WordLevelTokenizer.fromJson({ ...base, pre_tokenizer: { type: 'Punctuation', behavior: 'Isolated' } });
    expect(tok.encode('red?!').pieces).toEqual(['red', '?', '!']);
  });
});
