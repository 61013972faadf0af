import {
  convertCssVariables,
  createTheme,
  darken,
  deepMerge,
  defaultCssVariablesResolver,
  DEFAULT_THEME,
  mergeMantineTheme,
  type ConvertCSSVariablesInput,
  type CSSVariablesResolver,
} from '@mantine/core';

// System fonts only: nothing is downloaded at build or run time.
export const theme = createTheme({
  primaryColor: 'indigo',
  // Shade 8 in light: white on indigo 6 (filled buttons) and indigo 6 on white (links) are ~4:1, under AA.
  primaryShade: { light: 8, dark: 8 },
  defaultRadius: 'md',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace',
  headings: { fontWeight: '650' },
  components: {
    Card: { defaultProps: { withBorder: true, radius: 'md', padding: 'lg' } },
    Tooltip: { defaultProps: { withArrow: true, openDelay: 200 } },
    // Lower-case badges: states and names read better than shouted labels.
    Badge: { styles: { root: { textTransform: 'none' } } },
    Table: { defaultProps: { verticalSpacing: 'xs', horizontalSpacing: 'sm' } },
    // A table wider than a phone scrolls inside its card; keyboard users reach that scroll too.
    TableScrollContainer: { defaultProps: { scrollAreaProps: { viewportProps: { tabIndex: 0 } } } },
    // Long values (URLs, paths, hostnames) wrap inside the card instead of widening the page.
    DataList: { styles: { itemValue: { overflowWrap: 'anywhere', minWidth: 0 } } },
    // The × buttons are icons only: without a name a screen reader announces a bare "button".
    Modal: { defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } },
    Notification: { defaultProps: { closeButtonProps: { 'aria-label': 'Dismiss' } } },
    // The arrows are icons only; the numbers say "Page 3" rather than a bare "3".
    Pagination: {
      defaultProps: {
        getControlProps: (control: 'first' | 'previous' | 'last' | 'next') => ({
          'aria-label': `${control[0]!.toUpperCase()}${control.slice(1)} page`,
        }),
        getItemProps: (page: number) => ({ 'aria-label': `Page ${page}` }),
      },
    },
  },
});

const TEXT_COLORS = [
  'red',
  'pink',
  'grape',
  'violet',
  'indigo',
  'blue',
  'cyan',
  'teal',
  'green',
  'lime',
  'yellow',
  'orange',
  'gray',
] as const;

// Even shade 9 of these stays under 4.5:1 on their own light badge background.
const PALE = new Set<string>(['teal', 'green', 'lime', 'yellow', 'orange']);

/** `--mantine-color-<c>-text` (c="red"), `-light-color` (light badges, subtle buttons), `-outline`. */
const textColors = (t: Parameters<CSSVariablesResolver>[0], scheme: 'light' | 'dark') =>
  Object.fromEntries(
    TEXT_COLORS.flatMap((c) => {
      const color =
        scheme === 'dark' ? t.colors[c][3] : PALE.has(c) ? darken(t.colors[c][9], 0.3) : t.colors[c][9];
      return [
        [`--mantine-color-${c}-text`, color],
        [`--mantine-color-${c}-light-color`, color],
        ...(scheme === 'light' ? [[`--mantine-color-${c}-outline`, color]] : []),
      ];
    }),
  );

/**
 * Text that passes WCAG AA (4.5:1) in both schemes: Mantine's dimmed (gray 6, ~3.3:1 on our grey page)
 * and coloured text and light badges (shade 6) are too light on white, and dark grey 2 is too dark on
 * dark cards.
 */
export const cssVariablesResolver: CSSVariablesResolver = (t) => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': t.colors.gray[7],
    '--app-page-background': t.colors.gray[0],
    ...textColors(t, 'light'),
  },
  dark: {
    '--mantine-color-dimmed': t.colors.dark[1],
    '--app-page-background': t.colors.dark[8],
    ...textColors(t, 'dark'),
  },
});

/**
 * The CSS variables MantineProvider writes into every page (`<style data-mantine-styles>`), worked out
 * once: the provider works them out on each render, ~9% of the server's CPU for a page
 * (docs/operations.md), always the same text. Mantine's own steps (MantineCssVariables): the default
 * resolver's variables merged with ours, less those equal to the default theme's (its stylesheet has
 * them), for `:root` and `:host`. theme.test.ts compares it with what MantineProvider renders.
 */
export const THEME_CSS_VARIABLES: string = (() => {
  const ours = mergeMantineTheme(DEFAULT_THEME, theme);
  const merged = deepMerge(defaultCssVariablesResolver(ours), cssVariablesResolver(ours));
  const defaults = defaultCssVariablesResolver(DEFAULT_THEME);
  const changed = (part: keyof ConvertCSSVariablesInput) => {
    const before: Record<string, string | undefined> = defaults[part];
    return Object.fromEntries(Object.entries(merged[part]).filter(([k, v]) => before[k] !== v));
  };
  return convertCssVariables({
    variables: changed('variables'),
    light: changed('light'),
    dark: changed('dark'),
  });
})();
