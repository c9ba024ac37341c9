// Clock offset between this browser and the server, from Ping/Pong round
// trips. Like NTP, a sample with a short round trip bounds the offset more
// tightly, so we keep the last samples and average the few with the lowest
// RTT. Music sync reads serverNow().

export interface ClockSample {
  rtt: number;
  offset: number;
}

export class ServerClock {
  private samples: ClockSample[] = [];
  private _offset = 0;
  private _rtt = NaN;
  private have = false;

  constructor(
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
    readonly window = 24,
    readonly best = 4,
  ) {}

  /** offset is server time minus local time, ms. */
  get offset(): number {
    return this._offset;
  }

  /** rtt is the lowest recent round trip, ms (NaN before the first pong). */
  get rtt(): number {
    return this._rtt;
  }

  get synced(): boolean {
    return this.samples.length > 0;
  }

  localNow(): number {
    return this.now();
  }

  serverNow(): number {
    return this.now() + this._offset;
  }

  /** seed uses a one-way server timestamp (the welcome) until pongs arrive. */
  seed(serverTimeMs: number): void {
    if (this.samples.length > 0) return;
    this._offset = serverTimeMs - this.now();
    this.have = true;
  }

  /** pong adds a round trip: t0 sent, server stamp, t1 received (local ms). */
  pong(t0: number, server: number, t1 = this.now()): void {
    const rtt = t1 - t0;
    if (!(rtt >= 0) || rtt > 10_000) return;
    this.samples.push({ rtt, offset: server - (t0 + t1) / 2 });
    if (this.samples.length > this.window) this.samples.shift();
    const sorted = [...this.samples].sort((a, b) => a.rtt - b.rtt).slice(0, this.best);
    this._offset = sorted.reduce((s, x) => s + x.offset, 0) / sorted.length;
    this._rtt = sorted[0]!.rtt;
    this.have = true;
  }

  get ready(): boolean {
    return this.have;
  }
}
