/**
 * Colours of the dashboard (CSS custom properties mirror these in styles.css; charts read them from here). Every
 * colour used for text, and every series colour, reaches at least 4.5:1 against white (palette.test.ts checks it),
 * so chart labels, badges and bars stay legible on a wall display and for low-vision users.
 */
import type { Level } from './types.ts';

export const INK = '#1b1f24';
export const MUTED = '#4a5360';
export const LINK = '#0b57a4';
export const SURFACE = '#ffffff';

/** Level badge backgrounds (white text on them) and chart colours. */
export const LEVEL_COLORS: Record<Level, string> = {
  informational: '#4a5360',
  low: '#1d5fa8',
  medium: '#8a4b00',
  high: '#b0311b',
  critical: '#7a0c2e',
};

/**
 * Warning (预警) levels in the colours Chinese warning practice uses, dark enough (or, for yellow, light enough under
 * dark text) that the badge text reaches 4.5:1; the badge always carries the level's name too, never colour alone.
 */
export const WARNING_COLORS: Record<'blue' | 'yellow' | 'orange' | 'red', { bg: string; fg: string }> = {
  blue: { bg: '#1d5fa8', fg: '#ffffff' },
  yellow: { bg: '#f5c400', fg: '#1b1f24' },
  orange: { bg: '#a84300', fg: '#ffffff' },
  red: { bg: '#b3121b', fg: '#ffffff' },
};

/** Series colours for charts with several categories, in order. */
export const SERIES = ['#0b57a4', '#8a4b00', '#2f6b2f', '#7a2f8f', '#b0311b', '#00656b', '#5b4b00', '#4a5360'];

/** WCAG 2.x relative luminance of `#rrggbb`. */
export function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG contrast ratio between two `#rrggbb` colours (1..21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
