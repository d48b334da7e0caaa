import type { Response } from 'express';
import * as z from 'zod';
import { presentAlertJson } from '../../alerts/serialize-alert.js';
import { outputText, type FalcoAlert } from '../../alerts/falco-alert-schema.js';
import type { StoredAlert } from '../../alerts/stored-alert.js';
import { startOf } from '../../alerts/cut-text.js';
import { readTopLevelStrings } from '../../alerts/top-level-strings.js';
import type { AlertListCut } from '../alert-list-budget.js';
import { writePaced } from '../write-paced.js';
import { buildProblem, type Problem } from '../problem.js';

/** `format` of `GET /alerts`: the JSON page (default), or a download as JSON Lines or CSV. */
export const exportFormatSchema = z.enum(['json', 'ndjson', 'csv']).default('json');

export type ExportFormat = z.infer<typeof exportFormatSchema>;

/** Reads the `format` query parameter, naming it when it is none of the three. */
export function parseExportFormat(
  raw: unknown,
): { ok: true; format: ExportFormat } | { ok: false; problem: Problem } {
  const result = exportFormatSchema.safeParse(raw);
  if (result.success) return { ok: true, format: result.data };
  const detail = `must be one of ${exportFormatSchema.unwrap().options.join(', ')}`;
  return {
    ok: false,
    problem: buildProblem('invalid-request', {
      detail: `format: ${detail}`,
      errors: [{ pointer: 'format', detail }],
    }),
  };
}

/** One line per alert, the same object as `GET /alerts` lists (every digit of large integers kept). */
function* ndjsonLines(entries: readonly StoredAlert[]): Generator<string> {
  for (const entry of entries) yield `${presentAlertJson(entry)}\n`;
}

const CSV_COLUMNS = [
  'id',
  'receivedAt',
  'time',
  'priority',
  'rule',
  'source',
  'hostname',
  'namespace',
  'tags',
  'output',
] as const;

// A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); alert text
// is attacker-controlled, so such a cell is prefixed with an apostrophe and read as text. Some
// importers trim leading spaces and quotes first, and read fullwidth signs as their ASCII ones, so
// those are looked past: " =cmd", "\n=1+1" and "\"=cmd" were left as they came (found by review).
const FORMULA_START = /^[\s"']*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]/u;

// A quoted cell's quotes are doubled this many characters at a time: one replaceAll over a cell of
// 890,000 quotes (an alert of 1.75 MiB of `\"`) held the loop 26-270 ms and 30 MB of heap for its
// matches, in one piece the writer could not pace.
const QUOTED_PIECE_CHARS = 16 * 1024;

/**
 * One CSV cell, in pieces: formula-like text defused, quoted when it holds a quote, comma or line
 * break, each piece of a quoted cell at most twice QUOTED_PIECE_CHARS, so that writePaced can hand
 * the loop back between them.
 */
function* csvCellPieces(value: string): Generator<string> {
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  if (!/[",\r\n]/.test(text)) {
    yield text;
    return;
  }
  yield '"';
  for (let at = 0; at < text.length;) {
    // Never parting a surrogate pair: writePaced writes a piece that ends a turn as it is.
    const piece = startOf(text.slice(at), QUOTED_PIECE_CHARS);
    yield piece.replaceAll('"', '""');
    at += piece.length;
  }
  yield '"';
}

/** One CSV cell: formula-like text defused, quoted when it holds a quote, comma or line break. */
export function csvCell(value: string): string {
  return [...csvCellPieces(value)].join('');
}

// The keys whose values a row needs beyond the stored fields.
const TEXT_KEYS = new Set(['time', 'output', 'message']);

/**
 * What a row needs that the stored fields lack: the alert's `time` and output, read from the
 * received text alone. `entry.alert` would parse the whole text again: with a long non-integer
 * number that is the strict parser, 12 ms for an alert of 100 kB of numbers.
 */
function textFieldsOf(entry: StoredAlert): Pick<FalcoAlert, 'time' | 'output' | 'message'> {
  const found = entry.json === undefined ? undefined : readTopLevelStrings(entry.json, TEXT_KEYS);
  const time = found?.get('time');
  // No text kept (an alert the store holds parsed), or not the object it was: the alert itself.
  if (time === undefined) return entry.alert;
  return { time, output: found?.get('output'), message: found?.get('message') };
}

function* csvRow(entry: StoredAlert): Generator<string> {
  const fields = textFieldsOf(entry);
  const values: Record<(typeof CSV_COLUMNS)[number], string> = {
    id: entry.id,
    receivedAt: entry.receivedAt,
    time: fields.time,
    priority: entry.priority,
    rule: entry.rule,
    source: entry.source,
    hostname: entry.hostname ?? '',
    namespace: entry.namespace ?? '',
    tags: (entry.tags ?? []).join(' '),
    output: outputText(fields) ?? '',
  };
  for (const [index, column] of CSV_COLUMNS.entries()) {
    if (index > 0) yield ',';
    yield* csvCellPieces(values[column]);
  }
}

/** The first line of a CSV download. */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

/** RFC 4180 CSV with a header row and CRLF line ends. */
function* csvLines(entries: readonly StoredAlert[]): Generator<string> {
  yield CSV_HEADER;
  for (const entry of entries) {
    yield* csvRow(entry);
    yield '\r\n';
  }
}

const DOWNLOADS = {
  ndjson: { type: 'application/x-ndjson; charset=utf-8', extension: 'ndjson', lines: ndjsonLines },
  csv: { type: 'text/csv; charset=utf-8', extension: 'csv', lines: csvLines },
} as const;

/**
 * Sends the alerts as a file download named for the moment of the export; `X-Alerts-Truncated: true`
 * when the list was cut (alert-list-budget.ts).
 */
export async function sendAlertExport(
  res: Response,
  format: Exclude<ExportFormat, 'json'>,
  { alerts, truncated }: AlertListCut,
  nowMs: number,
): Promise<void> {
  const download = DOWNLOADS[format];
  const stamp = new Date(nowMs).toISOString().replaceAll(':', '').slice(0, 17);
  res.setHeader('Content-Disposition', `attachment; filename="falco-alerts-${stamp}.${download.extension}"`);
  res.setHeader('Cache-Control', 'no-store');
  if (truncated) res.setHeader('X-Alerts-Truncated', 'true');
  res.status(200).type(download.type);
  // Formatted as it is written (chunked, no Content-Length): the body is never built whole, the
  // client's reading shows as progress (read-budget.ts), and no turn formats more than its budget.
  if (await writePaced(res, download.lines(alerts))) res.end();
}
