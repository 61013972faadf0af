'use client';
import { useEffect } from 'react';

/**
 * The tab's title for a page whose subject loads in the browser (a host, a job, a build): the layout's
 * metadata can only say "Host", the tab should say which one.
 */
export function usePageTitle(subject: string | undefined, kind: string): void {
  useEffect(() => {
    document.title = subject ? `${subject} · ${kind} · binfleet` : `${kind} · binfleet`;
  }, [subject, kind]);
}
