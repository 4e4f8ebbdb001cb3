import { pageEnd, pageStart } from './dashboard-page.ts';

/**
 * The admin page's HTML shell (`GET /admin`); the dashboard bundle (`browser/main.ts`) sees the
 * path and renders the admin page (`browser/admin/`) into it. No data or token is in the HTML: the
 * page asks for the admin token, keeps it in sessionStorage for the tab, and calls the admin API
 * with it as a bearer header.
 */
export function adminPage(scriptUrl: string): string {
  return `${pageStart('foliostream admin', '\n<meta name="robots" content="noindex">')}  header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 12px 20px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; font-weight: 600; }
  header nav { margin-left: auto; display: flex; gap: 10px; align-items: center; }
  a { color: var(--accent); }
  main { padding: 16px 20px 40px; max-width: 1280px; margin: 0 auto; display: grid; gap: 18px; }
  section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
  section.panel h2 { font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; margin: 0 0 10px; }
  form.row, .row { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; margin-bottom: 10px; }
  label { color: var(--muted); font-size: 13px; display: inline-flex; gap: 6px; align-items: center; }
  input, select, textarea { font: inherit; padding: 6px 8px; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; }
  input[type=text], textarea { min-width: 0; flex: 1 1 220px; }
  textarea { width: 100%; min-height: 2.6em; resize: vertical; }
  button { font: inherit; padding: 6px 14px; background: var(--accent); border: none; border-radius: 4px; color: #0b1016; font-weight: 600; cursor: pointer; }
  button.secondary { background: transparent; color: var(--text); border: 1px solid var(--line); font-weight: 500; }
  button.danger { background: transparent; color: var(--down); border: 1px solid var(--down); font-weight: 500; }
  button:disabled { opacity: .5; cursor: default; }
  .message { margin: 6px 0; font-size: 13px; }
  .message.error { color: var(--down); }
  .message.ok { color: var(--up); }
  .muted { color: var(--muted); }
  .scroll { overflow-x: auto; }
  table { width: 100%; border-collapse: collapse; font-size: 13px; }
  th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
  th { color: var(--muted); font-weight: 500; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; white-space: nowrap; }
  td.id, td.nowrap { white-space: nowrap; font-variant-numeric: tabular-nums; }
  td.reason { min-width: 200px; max-width: 420px; overflow-wrap: anywhere; }
  code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
  pre { margin: 6px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto; background: var(--bg); padding: 8px; border-radius: 4px; }
  details summary { cursor: pointer; color: var(--accent); }
  progress { width: min(420px, 100%); height: 14px; accent-color: var(--accent); }
  .pill { font-size: 12px; padding: 1px 9px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); white-space: nowrap; }
  .pill.done, .pill.ok { color: var(--up); border-color: var(--up); }
  .pill.failed, .pill.bad { color: var(--down); border-color: var(--down); }
  .pill.running, .pill.queued { color: var(--warn); border-color: var(--warn); }
  .user-report { border-top: 1px solid var(--line); padding-top: 10px; margin-top: 10px; }
  .user-report h3 { font-size: 14px; margin: 0 0 6px; overflow-wrap: anywhere; }
  .diff-kind { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; margin: 8px 0 4px; }
  .added { color: var(--up); } .removed { color: var(--down); } .changed { color: var(--warn); }
  .login { max-width: 520px; margin: 80px auto; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 24px; }
  .login input { width: 100%; margin: 12px 0; }
  @media (max-width: 600px) {
    header, main { padding-left: 12px; padding-right: 12px; }
    .login { margin: 24px 12px; }
    /* Tables become one block per row, each cell on a line after its column's name. */
    table.stack thead { display: none; }
    table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
    table.stack tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
    table.stack td { border: none; padding: 2px 4px; white-space: normal; overflow-wrap: anywhere; min-width: 0; max-width: none; }
    table.stack td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: 12px; }
    table.stack td:empty { display: none; }
  }
${pageEnd(scriptUrl)}`;
}
