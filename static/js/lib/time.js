// sohbet: time formatting in the viewer's own time zone (the browser's).
import { S, locale } from './config.js';

// ---------------------------------------------------------------- time ---

const fmtCache = new Map();
function formatter(key, options, loc = locale) {
  let f = fmtCache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(loc, options);
    fmtCache.set(key, f);
  }
  return f;
}
export const toDate = (v) => (v instanceof Date ? v : new Date(v));
export const valid = (d) => d instanceof Date && !Number.isNaN(d.getTime());

/** "YYYY-MM-DD" of a moment in the viewer's time zone. */
export function dayKey(v) {
  const d = toDate(v);
  if (!valid(d)) return '';
  return formatter('key', { year: 'numeric', month: '2-digit', day: '2-digit' }, 'en-CA').format(d);
}
const todayKey = () => dayKey(new Date());
const yesterdayKey = () => dayKey(new Date(Date.now() - 86400000));
const yearOf = (v) => formatter('year', { year: 'numeric' }, 'en-CA').format(toDate(v));

export function clock(d) {
  return formatter('hm', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

export const fmt = {
  dayKey,
  /** "14:05" today, "12 Mar 14:05" this year, "12 Mar 2024 14:05" otherwise. */
  time(v) {
    const d = toDate(v);
    if (!valid(d)) return '';
    if (dayKey(d) === todayKey()) return clock(d);
    const sameYear = yearOf(d) === yearOf(new Date());
    const date = formatter(sameYear ? 'dm' : 'dmy', sameYear
      ? { day: 'numeric', month: 'short' }
      : { day: 'numeric', month: 'short', year: 'numeric' }).format(d);
    return `${date} ${clock(d)}`;
  },
  /** Full date and time, for tooltips. */
  full(v) {
    const d = toDate(v);
    if (!valid(d)) return '';
    return formatter('full', { dateStyle: 'full', timeStyle: 'short', hourCycle: 'h23' }).format(d);
  },
  /** Day separator label: Today, Yesterday or a long date. */
  day(v) {
    const d = toDate(v);
    if (!valid(d)) return '';
    const k = dayKey(d);
    if (k === todayKey()) return S.today;
    if (k === yesterdayKey()) return S.yesterday;
    const sameYear = yearOf(d) === yearOf(new Date());
    return formatter(sameYear ? 'long' : 'longy', sameYear
      ? { weekday: 'long', day: 'numeric', month: 'long' }
      : { day: 'numeric', month: 'long', year: 'numeric' }).format(d);
  },
  /** Compact time for lists: now, 14:05, Yesterday, Mon, 12.03.24. */
  short(v) {
    const d = toDate(v);
    if (!valid(d)) return '';
    const age = Date.now() - d.getTime();
    if (age < 60000 && age > -60000) return S.justNow;
    const k = dayKey(d);
    if (k === todayKey()) return clock(d);
    if (k === yesterdayKey()) return S.yesterday;
    if (age < 6 * 86400000) return formatter('wd', { weekday: 'short' }).format(d);
    return formatter('num', { day: '2-digit', month: '2-digit', year: '2-digit' }).format(d);
  },
};
