// Alert hysteresis per feature: an alert fires after `fireAfter` drifted windows in a row and
// resolves after `resolveAfter` clean windows in a row, so one noisy window neither raises nor
// clears it. Pure; the monitor raises alerts with it and the console redraws them from the same rule.

export type AlertTransition = "firing" | "resolved";

export class AlertState {
  private firing = false;
  private driftedRun = 0;
  private cleanRun = 0;

  private readonly fireAfter: number;
  private readonly resolveAfter: number;

  constructor(fireAfter: number, resolveAfter: number) {
    this.fireAfter = fireAfter;
    this.resolveAfter = resolveAfter;
  }

  get isFiring(): boolean {
    return this.firing;
  }

  /** Feeds one closed window's verdict; returns the transition it caused, if any. */
  observe(drifted: boolean): AlertTransition | undefined {
    if (drifted) {
      this.driftedRun += 1;
      this.cleanRun = 0;
      if (!this.firing && this.driftedRun >= this.fireAfter) {
        this.firing = true;
        return "firing";
      }
    } else {
      this.cleanRun += 1;
      this.driftedRun = 0;
      if (this.firing && this.cleanRun >= this.resolveAfter) {
        this.firing = false;
        return "resolved";
      }
    }
    return undefined;
  }

  /** Consecutive windows behind the current state (drifted while firing, clean otherwise). */
  get run(): number {
    return this.firing ? this.driftedRun : this.cleanRun;
  }
}

/** The alert state of every feature of one pipeline, fed one closed window's decisions at a time. */
export class AlertBook {
  private readonly states = new Map<string, AlertState>();
  private readonly fireAfter: number;
  private readonly resolveAfter: number;

  constructor(fireAfter: number, resolveAfter: number) {
    this.fireAfter = fireAfter;
    this.resolveAfter = resolveAfter;
  }

  /** Feeds one feature's verdict; returns the transition it caused, with the run behind it. */
  observe(feature: string, drifted: boolean): { transition: AlertTransition; run: number } | undefined {
    let state = this.states.get(feature);
    if (!state) {
      state = new AlertState(this.fireAfter, this.resolveAfter);
      this.states.set(feature, state);
    }
    const transition = state.observe(drifted);
    return transition ? { transition, run: state.run } : undefined;
  }
}
