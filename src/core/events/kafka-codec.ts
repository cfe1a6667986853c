/** How the Kafka adapter reads a record: UTF-8 key, JSON value (as published), string headers. */
import type { IHeaders, KafkaMessage } from 'kafkajs';

export interface DecodedRecord {
  key: string;
  /** The parsed JSON; the raw text when it is not JSON (see `notJson`); null for an empty value. */
  value: unknown;
  headers: Record<string, string>;
  timestamp: number;
  /** Set when the value is not JSON (a foreign producer): the parse error. */
  notJson?: unknown;
}

/** Decodes one record; never throws. */
export function decodeRecord(raw: KafkaMessage): DecodedRecord {
  const text = raw.value?.toString('utf8');
  const record: DecodedRecord = {
    key: raw.key?.toString('utf8') ?? '',
    value: null,
    headers: decodeHeaders(raw.headers),
    timestamp: Number(raw.timestamp),
  };
  if (text === undefined) return record;
  try {
    record.value = JSON.parse(text) as unknown;
  } catch (error) {
    record.value = text;
    record.notJson = error;
  }
  return record;
}

/** Header values as strings; the last one wins when a header repeats. */
export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) decoded[name] = last.toString();
  }
  return decoded;
}
