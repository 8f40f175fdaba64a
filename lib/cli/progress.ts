/**
 * Build progress on stderr: one live line (stage + percent) redrawn in place on a terminal; elsewhere (CI logs,
 * pipes) one plain line per stage, so logs stay readable.
 */
import type { CliOutput } from './io.js';

const REDRAW_MS = 50;

/** Reports the stages of a parse + build. */
export class ProgressLine {
  readonly #out: CliOutput;
  readonly #live: boolean;
  #stage = '';
  #lastDraw = 0;
  #drawn = false;
  readonly #enabled: boolean;

  /** `enabled: false` (e.g. `--quiet`) reports nothing. */
  constructor(out: CliOutput, enabled = true) {
    this.#out = out;
    this.#enabled = enabled;
    this.#live = enabled && out.isTTY === true;
  }

  /** A stage advanced: `fraction` in [0, 1]; `message` says what is being done. */
  update(stage: string, fraction: number, message: string): void {
    if (!this.#enabled) return;
    const percent = `${Math.max(0, Math.min(100, Math.round(fraction * 100)))}%`.padStart(4);
    const changed = stage !== this.#stage;
    this.#stage = stage;
    if (!this.#live) {
      if (changed) this.#out.write(message ? `[${stage}] ${message}\n` : `[${stage}]\n`);
      return;
    }
    const now = Date.now();
    if (!changed && now - this.#lastDraw < REDRAW_MS && fraction < 1) return;
    this.#lastDraw = now;
    const width = Math.max(20, (this.#out.columns || 80) - 1);
    const text = `${stage.padEnd(10)} ${percent}  ${message}`;
    this.#out.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.#drawn = true;
  }

  /** Clears the live line (call before printing results, and on failure). */
  done(): void {
    if (this.#live && this.#drawn) this.#out.write('\r\x1b[2K');
    this.#drawn = false;
    this.#stage = '';
  }
}
