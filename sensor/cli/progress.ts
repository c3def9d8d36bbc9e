/**
 * A one-line progress bar on stderr for long files, shown only when stderr is a terminal (so pipes, CI logs and
 * `--events` output stay clean). Redraws at most every 200 ms of wall time.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly totalBytes: number | null,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  update(doneBytes: number, packets: number, totalBytes: number | null = this.totalBytes): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const width = 30;
    let bar = '';
    if (totalBytes && totalBytes > 0) {
      const frac = Math.min(1, doneBytes / totalBytes);
      const filled = Math.round(frac * width);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%`;
    } else {
      bar = `${(doneBytes / 1048576).toFixed(1)} MiB`;
    }
    this.stream.write(`\r${this.label} ${bar} ${packets.toLocaleString('en-US')} packets`);
  }

  done(): void {
    if (!this.enabled) return;
    this.stream.write('\r\x1b[2K');
  }
}
