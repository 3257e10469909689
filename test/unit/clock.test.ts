/**
 * src/clock.ts without a server: OffsetClock runs with a (here fake) real time plus an offset, never
 * goes back, never passes LATEST_CLOCK_MS, and restoreOffset takes a persisted offset back, clamping
 * one out of range or not a number; parseIsoDuration reads PnYnMnWnDTnHnMnS into milliseconds
 * (months 30 days, years 365) and is undefined for anything else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetClock, ClockRangeError, LATEST_CLOCK_MS, parseIsoDuration } from '../../src/clock.js';

const T0 = Date.UTC(2024, 5, 1, 12);
const DAY = 86_400_000;

/** A clock over a fake real time that the test moves. */
function fakeClock(start?: Date) {
  const real = { ms: T0 };
  return { real, clock: new OffsetClock(start, () => real.ms) };
}

test('the clock follows real time plus its offset', () => {
  const { real, clock } = fakeClock();
  assert.equal(clock.now().getTime(), T0);
  assert.equal(clock.offset, 0);
  real.ms += 5000;
  assert.equal(clock.now().getTime(), T0 + 5000);
  const { clock: started } = fakeClock(new Date(T0 + DAY));
  assert.equal(started.offset, DAY);
  assert.equal(started.now().getTime(), T0 + DAY);
});

test('advance and set move it forward and answer the new time', () => {
  const { clock } = fakeClock();
  assert.equal(clock.advance(1000).getTime(), T0 + 1000);
  assert.equal(clock.advance(0).getTime(), T0 + 1000);
  assert.equal(clock.set(new Date(T0 + DAY)).getTime(), T0 + DAY);
  assert.equal(clock.set(new Date(T0 + DAY)).getTime(), T0 + DAY, 'setting the same time is no move');
  assert.equal(clock.offset, DAY);
});

test('the clock never moves back: negative, NaN and earlier moves are ClockRangeErrors and change nothing', () => {
  const { clock } = fakeClock();
  clock.advance(DAY);
  for (const move of [() => clock.advance(-1), () => clock.advance(NaN), () => clock.set(new Date(T0)), () => clock.set(new Date(NaN))]) {
    assert.throws(move, (e: unknown) => e instanceof ClockRangeError && e instanceof RangeError && e.message === 'the clock never moves back');
  }
  assert.equal(clock.offset, DAY);
});

test('the clock goes up to LATEST_CLOCK_MS and no further', () => {
  assert.equal(new Date(LATEST_CLOCK_MS).toISOString(), '9998-01-01T00:00:00.000Z');
  const { clock } = fakeClock();
  assert.throws(() => clock.set(new Date(LATEST_CLOCK_MS + 1)), (e: unknown) => e instanceof ClockRangeError && /cannot move past 9998-01-01T00:00:00.000Z/.test(e.message));
  assert.throws(() => clock.advance(Infinity), ClockRangeError);
  assert.equal(clock.offset, 0);
  assert.equal(clock.set(new Date(LATEST_CLOCK_MS)).getTime(), LATEST_CLOCK_MS);
  assert.throws(() => clock.advance(1), ClockRangeError);
});

test('restoreOffset takes a later offset back and keeps a larger current one', () => {
  const { clock } = fakeClock();
  assert.equal(clock.restoreOffset(DAY), false);
  assert.equal(clock.offset, DAY);
  assert.equal(clock.restoreOffset(1000), false, 'an offset behind the clock is no clamp');
  assert.equal(clock.offset, DAY, 'and does not move it back');
});

test('restoreOffset clamps an offset past LATEST_CLOCK_MS, or not finite, to LATEST_CLOCK_MS', () => {
  for (const offset of [LATEST_CLOCK_MS, NaN, Infinity, -Infinity]) {
    const { clock } = fakeClock();
    assert.equal(clock.restoreOffset(offset), true, String(offset));
    assert.equal(clock.now().getTime(), LATEST_CLOCK_MS, String(offset));
  }
  const { clock } = fakeClock();
  assert.equal(clock.restoreOffset(LATEST_CLOCK_MS - T0), false, 'exactly at the bound is kept');
  assert.equal(clock.now().getTime(), LATEST_CLOCK_MS);
});

test('parseIsoDuration reads each part, fractions and combinations', () => {
  const cases: Array<[string, number]> = [
    ['P1Y', 365 * DAY],
    ['P2M', 60 * DAY],
    ['P1W', 7 * DAY],
    ['P3D', 3 * DAY],
    ['PT4H', 4 * 3_600_000],
    ['PT5M', 5 * 60_000],
    ['PT6S', 6000],
    ['PT0.5S', 500],
    ['P1.5D', 1.5 * DAY],
    ['P0D', 0],
    ['P1Y2M3W4DT5H6M7.25S', 365 * DAY + 60 * DAY + 21 * DAY + 4 * DAY + 5 * 3_600_000 + 6 * 60_000 + 7250],
    ['PT0.0004S', 0],
    ['PT0.0005S', 1],
  ];
  for (const [text, ms] of cases) assert.equal(parseIsoDuration(text), ms, text);
});

test("parseIsoDuration is undefined for 'P', 'PT', a trailing T, wrong order, units in the wrong half, and garbage", () => {
  for (const text of ['P', 'PT', 'P1DT', '', 'p1d', 'P1d', '1D', '-P1D', 'P-1D', 'P1H', 'PT1D', 'PT1W', 'P1D1Y', 'P1M1Y', 'P.5D', 'P1,5D', 'P1D ', ' P1D', 'PT1H1H', 'garbage']) {
    assert.equal(parseIsoDuration(text), undefined, JSON.stringify(text));
  }
});
