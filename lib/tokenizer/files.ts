// Reading tokenizer files: every failure names the file, as IoError (cannot read) or
// InvalidFileError (read, but the content is wrong).
import { readFile, stat } from 'node:fs/promises';
import { InvalidFileError, IoError } from '../errors.js';

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function requireDirectory(path: string): Promise<void> {
  let ok = false;
  try {
    ok = (await stat(path)).isDirectory();
  } catch (err) {
    throw new IoError(`${path}: cannot open tokenizer folder: ${(err as Error).message}`, { cause: err });
  }
  if (!ok) throw new IoError(`${path}: is not a folder (fromPretrained takes the folder holding tokenizer.json or vocab.txt)`);
}

async function readText(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new IoError(`${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  try {
    // fatal: binary garbage is an error here, not a vocabulary of U+FFFD
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    throw new InvalidFileError(`${path}: is not valid UTF-8 text`, { cause: err });
  }
}

// A JSON file whose top level must be an object.
export async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  const text = await readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidFileError(`${path}: malformed JSON: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidFileError(`${path}: must hold a JSON object at the top level`);
  }
  return value as Record<string, unknown>;
}

// vocab.txt: one token per line, the id is the line number (as in Hugging Face's load_vocab).
// A trailing newline does not start another token; a "\r" before "\n" is not part of the token.
export async function readVocab(path: string): Promise<string[]> {
  const lines = (await readText(path)).split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const tokens = lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (tokens.length === 0) throw new InvalidFileError(`${path}: is empty (expected one token per line)`);
  return tokens;
}
