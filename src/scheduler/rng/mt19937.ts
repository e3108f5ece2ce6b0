/**
 * The MT19937 engine as torch's CPU generator runs it (`at::mt19937`): standard Matsumoto–Nishimura init, twist and
 * tempering, producing 32-bit outputs. torch seeds it with the low 32 bits of the 64-bit seed.
 */
const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const INIT_MULTIPLIER = 1812433253;

export class Mt19937 {
  private readonly state = new Uint32Array(N);
  private next = N;

  constructor(seedLow32: number) {
    const s = this.state;
    s[0] = seedLow32 >>> 0;
    for (let j = 1; j < N; j++) {
      const prev = s[j - 1]!;
      s[j] = (Math.imul(INIT_MULTIPLIER, prev ^ (prev >>> 30)) + j) >>> 0;
    }
  }

  /** Regenerates all 624 words of state at once (the "twist"). */
  private twist(): void {
    const s = this.state;
    for (let k = 0; k < N; k++) {
      const y = (s[k]! & UPPER_MASK) | (s[(k + 1) % N]! & LOWER_MASK);
      s[k] = s[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.next = 0;
  }

  /** The next tempered 32-bit output, as an unsigned number. */
  nextU32(): number {
    if (this.next >= N) this.twist();
    let y = this.state[this.next++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}
