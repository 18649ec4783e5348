// Alerts draw the agent's attention to an offer or a colleague's message: a short chime and a
// blinking window title, both off when the agent turns alerts off.

export class Alerts {
  private blink = 0;
  private title = document.title;
  private audio: AudioContext | null = null;

  constructor(private enabled: () => boolean) {}

  ring(text: string) {
    if (!this.enabled()) return;
    this.chime();
    if (this.blink) return;
    this.title = document.title;
    let on = false;
    this.blink = window.setInterval(() => {
      on = !on;
      document.title = on ? `● ${text}` : this.title;
    }, 900);
  }

  stop() {
    if (!this.blink) return;
    clearInterval(this.blink);
    this.blink = 0;
    document.title = this.title;
  }

  private chime() {
    try {
      this.audio ??= new AudioContext();
      const ctx = this.audio;
      const now = ctx.currentTime;
      for (const [i, freq] of [660, 880].entries()) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + i * 0.18);
        gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.18 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
        osc.connect(gain).connect(ctx.destination);
        osc.start(now + i * 0.18);
        osc.stop(now + i * 0.18 + 0.17);
      }
    } catch {
      // No audio device or autoplay refused before the first click: the title still blinks.
    }
  }
}
