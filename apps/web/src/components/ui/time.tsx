'use client';
import { Text, type TextProps } from '@mantine/core';
import { useEffect, useState } from 'react';

/** The current time, re-rendering every `everyMs` so "2 min ago" stays true on a page left open. */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function ago(date: Date, now: number): string {
  const s = Math.round((now - date.getTime()) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d < 30) return `${d} days ago`;
  return date.toLocaleDateString();
}

export function formatDateTime(date: Date): string {
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  // Whole minutes and hours read as such ("15 min", not "15 min 0 s").
  if (m < 60) return Math.round(s % 60) ? `${m} min ${Math.round(s % 60)} s` : `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${Math.floor(m / 60)} h`;
}

/** "3 min ago", with the exact time on hover. */
export function Ago({
  date,
  prefix,
  never = 'never',
  ...props
}: { date: Date | null | undefined; prefix?: string; never?: string } & TextProps) {
  const now = useNow();
  if (!date)
    return (
      <Text span {...props}>
        {never}
      </Text>
    );
  return (
    <Text span title={formatDateTime(date)} {...props}>
      <time dateTime={date.toISOString()}>{prefix ? `${prefix} ${ago(date, now)}` : ago(date, now)}</time>
    </Text>
  );
}
