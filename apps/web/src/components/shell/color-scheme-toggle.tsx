'use client';
import { ActionIcon, Box, Menu, useMantineColorScheme } from '@mantine/core';
import { IconDeviceDesktop, IconMoon, IconSun } from '@tabler/icons-react';

/**
 * Light, dark, or the system's: Mantine keeps the choice in localStorage and the layout's inline
 * script applies it before the first paint. The icon is picked by CSS (lightHidden / darkHidden),
 * so the server's HTML and the first client render agree.
 */
export function ColorSchemeToggle() {
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  const choices = [
    { value: 'light', label: 'Light', icon: IconSun },
    { value: 'dark', label: 'Dark', icon: IconMoon },
    { value: 'auto', label: 'As the system', icon: IconDeviceDesktop },
  ] as const;
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <ActionIcon variant="subtle" color="gray" size="lg" aria-label="Colour scheme">
          <Box component="span" lh={0} lightHidden>
            <IconMoon size={18} />
          </Box>
          <Box component="span" lh={0} darkHidden>
            <IconSun size={18} />
          </Box>
        </ActionIcon>
      </Menu.Target>
      <Menu.Dropdown>
        {choices.map((c) => (
          <Menu.Item
            key={c.value}
            leftSection={<c.icon size={16} />}
            onClick={() => setColorScheme(c.value)}
            aria-current={colorScheme === c.value ? 'true' : undefined}
            fw={colorScheme === c.value ? 700 : undefined}
          >
            {c.label}
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}
