// Preload (`node --import ./test/support/skewed-clock.mjs …`) that shifts this process's wall clock by
// PROMSHARD_TEST_CLOCK_SKEW_MS milliseconds (positive: ahead): Date.now() and `new Date()` move,
// performance.now() (monotonic) does not — as on a host whose clock is wrong. Test-only.
const skew = Number(process.env.PROMSHARD_TEST_CLOCK_SKEW_MS ?? 0);
if (skew !== 0) {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skew);
      else super(...args);
    }
    static now() {
      return RealDate.now() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
