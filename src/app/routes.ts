import type { Router } from 'express';
import type { AppContext } from '../runtime/context.ts';

/** Every feature router of the web role, with the path it is mounted at. */
export function apiRouters(_ctx: AppContext): { path: string; router: Router }[] {
  return [];
}
