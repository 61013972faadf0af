'use client';
import { useCallback, useMemo, useState } from 'react';
import type { FleetRow } from '../trpc/types.ts';

/** What a table needs to show and change the selection for the rows it displays. */
export interface PageSelection {
  readonly allOnPage: boolean;
  readonly someOnPage: boolean;
  isSelected(id: string): boolean;
  toggle(id: string, hostname: string): void;
  togglePage(): void;
}

/**
 * Hosts selected across pages and filters, by id, with the hostnames seen so far (for the
 * confirmation). "Select all matching" adds ids whose names may not be known yet.
 */
export function useHostSelection(pageRows: readonly FleetRow[]) {
  const [selected, setSelected] = useState<ReadonlyMap<string, string>>(new Map());
  const onPage = pageRows.filter((r) => selected.has(r.id)).length;

  const toggle = useCallback((id: string, hostname: string) => {
    setSelected((prev) => {
      const next = new Map(prev);
      if (next.has(id)) next.delete(id);
      else next.set(id, hostname);
      return next;
    });
  }, []);

  const page: PageSelection = useMemo(
    () => ({
      allOnPage: pageRows.length > 0 && onPage === pageRows.length,
      someOnPage: onPage > 0 && onPage < pageRows.length,
      isSelected: (id) => selected.has(id),
      toggle,
      togglePage: () =>
        setSelected((prev) => {
          const next = new Map(prev);
          const all = pageRows.every((r) => next.has(r.id));
          for (const r of pageRows) {
            if (all) next.delete(r.id);
            else next.set(r.id, r.hostname);
          }
          return next;
        }),
    }),
    [pageRows, onPage, selected, toggle],
  );

  const addIds = useCallback(
    (ids: readonly string[]) =>
      setSelected((prev) => {
        const next = new Map(prev);
        const names = new Map(pageRows.map((r) => [r.id, r.hostname]));
        for (const id of ids) if (!next.has(id)) next.set(id, names.get(id) ?? '');
        return next;
      }),
    [pageRows],
  );

  return {
    page,
    count: selected.size,
    hostIds: [...selected.keys()],
    names: [...selected.values()].filter(Boolean),
    addIds,
    clear: useCallback(() => setSelected(new Map()), []),
  };
}
