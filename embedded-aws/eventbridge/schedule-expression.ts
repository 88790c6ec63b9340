/**
 * Schedule expressions of EventBridge scheduled rules (User Guide, "Using cron and rate expressions
 * to schedule rules"), in UTC: `rate(value unit)`, which starts when the rule is created, and the
 * six-field `cron(minutes hours day-of-month month day-of-week year)` with its wildcards
 * (`, - * / ?`, `L` and `W` in day-of-month, `L` and `#` in day-of-week).
 */
export type Schedule =
  | { kind: 'rate'; expression: string; everyMs: number }
  | { kind: 'cron'; expression: string; cron: CronFields };

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  months: Set<number>;
  years: Set<number>;
  /** Whether a day (UTC midnight) matches the day-of-month or day-of-week field, whichever is not `?`. */
  day: (date: Date) => boolean;
}

// `rate(1 hour)` and `rate(5 hours)` are valid, `rate(1 hours)` and `rate(5 hour)` are not.
const RATE = /^rate\((?:(1) (minute|hour|day)|([1-9]\d*) (minute|hour|day)s)\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export class InvalidScheduleExpression extends Error {
  constructor(expression: string, reason: string) {
    super(`${expression}: ${reason}`);
    this.name = 'InvalidScheduleExpression';
  }
}

export function parseScheduleExpression(expression: string): Schedule {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1] ?? rate[3]);
    // A value of 1 matches (1) (unit); a plural unit with value 1 is refused by the pattern.
    if (rate[3] !== undefined && value === 1) throw new InvalidScheduleExpression(expression, 'a value of 1 takes a singular unit');
    return { kind: 'rate', expression, everyMs: value * (UNIT_MS[rate[2] ?? rate[4] ?? ''] ?? 0) };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) throw new InvalidScheduleExpression(expression, 'expected rate(value unit) or cron(fields)');
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6) throw new InvalidScheduleExpression(expression, 'a cron expression has six fields');
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new InvalidScheduleExpression(expression, 'one, and only one, of day-of-month and day-of-week must be ?');
  }
  const parse = (field: string, min: number, max: number, names: string[] = [], nameBase = min) => numericField(expression, field, min, max, names, nameBase);
  return {
    kind: 'cron',
    expression,
    cron: {
      minutes: parse(minutes, 0, 59),
      hours: parse(hours, 0, 23),
      months: parse(month, 1, 12, MONTHS),
      years: parse(year, 1970, 2199),
      day: dayOfMonth === '?' ? dayOfWeekMatcher(expression, dayOfWeek) : dayOfMonthMatcher(expression, dayOfMonth),
    },
  };
}

/**
 * The first instant after `after` at which the schedule fires. A rate schedule fires every interval
 * from `anchor`, the rule's creation. Undefined when a cron schedule never fires again (its years
 * are over).
 */
export function nextFireTime(schedule: Schedule, after: number, anchor: number): number | undefined {
  if (schedule.kind === 'rate') {
    const elapsed = Math.max(0, after - anchor);
    return anchor + (Math.floor(elapsed / schedule.everyMs) + 1) * schedule.everyMs;
  }
  const { cron } = schedule;
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  const hours = [...cron.hours].sort((a, b) => a - b);
  let day = Math.floor(after / DAY_MS) * DAY_MS;
  const lastYear = Math.max(...cron.years);
  for (; new Date(day).getUTCFullYear() <= lastYear; day += DAY_MS) {
    const date = new Date(day);
    if (!cron.years.has(date.getUTCFullYear()) || !cron.months.has(date.getUTCMonth() + 1) || !cron.day(date)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        const at = day + hour * 3_600_000 + minute * MINUTE_MS;
        if (at > after) return at;
      }
    }
  }
  return undefined;
}

/** `*`, `5`, `1-5`, `MON-FRI`, `0/15`, `*\/10`, `1,3,5`: the set of values the field allows. */
function numericField(expression: string, field: string, min: number, max: number, names: string[], nameBase: number): Set<number> {
  const value = (text: string): number => {
    const named = names.indexOf(text.toUpperCase());
    const number = named >= 0 ? named + nameBase : /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isInteger(number) || number < min || number > max) throw new InvalidScheduleExpression(expression, `${text} is not between ${min} and ${max}`);
    return number;
  };
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new InvalidScheduleExpression(expression, `${part} has no valid increment`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [min, max];
    else if (range.includes('-')) {
      const [start = '', end = ''] = range.split('-');
      [from, to] = [value(start), value(end)];
      if (from > to) throw new InvalidScheduleExpression(expression, `${range} is not an ascending range`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let current = from; current <= to; current += step) values.add(current);
  }
  return values;
}

function daysInMonth(date: Date): number {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
}

/** Day-of-month: numbers and ranges, `L` (the last day), `15W` (the weekday nearest the 15th, within the month). */
function dayOfMonthMatcher(expression: string, field: string): (date: Date) => boolean {
  if (field === 'L') return (date) => date.getUTCDate() === daysInMonth(date);
  const weekday = /^(\d{1,2})W$/.exec(field);
  if (weekday) {
    const target = Number(weekday[1]);
    if (target < 1 || target > 31) throw new InvalidScheduleExpression(expression, `${field} is not a day of the month`);
    return (date) => {
      const last = daysInMonth(date);
      const day = Math.min(target, last);
      const weekdayOf = (dayOfMonth: number) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), dayOfMonth)).getUTCDay();
      let nearest = day;
      if (weekdayOf(day) === 6) nearest = day === 1 ? 3 : day - 1;
      if (weekdayOf(day) === 0) nearest = day === last ? day - 2 : day + 1;
      return date.getUTCDate() === nearest;
    };
  }
  const days = numericField(expression, field, 1, 31, [], 1);
  return (date) => days.has(date.getUTCDate());
}

/** Day-of-week (1 = SUN ... 7 = SAT): numbers, names and ranges, `L` (Saturday), `6L` (the last Friday), `3#2` (the second Tuesday). */
function dayOfWeekMatcher(expression: string, field: string): (date: Date) => boolean {
  const weekday = (date: Date) => date.getUTCDay() + 1;
  if (field === 'L') return (date) => weekday(date) === 7;
  const last = /^([1-7]|[A-Za-z]{3})L$/.exec(field);
  if (last) {
    const day = [...numericField(expression, last[1] ?? '', 1, 7, WEEKDAYS, 1)][0];
    return (date) => weekday(date) === day && date.getUTCDate() + 7 > daysInMonth(date);
  }
  const nth = /^([1-7]|[A-Za-z]{3})#([1-5])$/.exec(field);
  if (nth) {
    const day = [...numericField(expression, nth[1] ?? '', 1, 7, WEEKDAYS, 1)][0];
    const occurrence = Number(nth[2]);
    return (date) => weekday(date) === day && Math.ceil(date.getUTCDate() / 7) === occurrence;
  }
  const days = numericField(expression, field, 1, 7, WEEKDAYS, 1);
  return (date) => days.has(weekday(date));
}
