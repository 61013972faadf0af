import { MantineProvider } from '@mantine/core';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { cssVariablesResolver, theme, THEME_CSS_VARIABLES } from './theme.ts';

describe('THEME_CSS_VARIABLES', () => {
  it('is the very text MantineProvider writes for our theme and resolver', () => {
    const html = renderToString(
      createElement(MantineProvider, { theme, cssVariablesResolver, defaultColorScheme: 'auto' }),
    );
    const written = /<style data-mantine-styles="true">([\s\S]*?)<\/style>/.exec(html)?.[1];
    expect(written).toBeDefined();
    // React escapes nothing in dangerouslySetInnerHTML: the text is as Mantine made it.
    expect(THEME_CSS_VARIABLES).toBe(written);
    // Our own variables are in it (the dimmed text of both schemes, the page background).
    expect(THEME_CSS_VARIABLES).toMatch(/--app-page-background/);
  });
});
