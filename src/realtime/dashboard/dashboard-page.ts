/**
 * The start of every page the bundle fills in (the dashboard, the admin page): the head up to an
 * open `<style>` holding the palette and the base rules; the page's own rules follow.
 */
export function pageStart(title: string, extraHead = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">${extraHead}
<title>${title}</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg: #0f1419; --panel: #171d24; --line: #26303b; --text: #d8dee6; --muted: #8593a3;
          --up: #3fb950; --down: #f85149; --accent: #58a6ff; --warn: #d29922; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
`;
}

/** The end of every such page: the root element and the bundle. */
export function pageEnd(scriptUrl: string, appAttributes = ''): string {
  return `</style>
</head>
<body>
<div id="app"${appAttributes}></div>
<script type="module" src="${scriptUrl}"></script>
</body>
</html>
`;
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The dashboard's HTML shell (also the sign-in, callback and connected pages: the bundle picks by
 * path); `dashboard.js` (the esbuild bundle of `browser/main.ts`) fills it in.
 */
export function dashboardPage(
  scriptUrl: string,
  options: { trading?: boolean; signIn?: { dev: boolean; providerUrl?: string | undefined } } = {},
): string {
  const attributes = [
    options.trading ? ' data-trading="1"' : '',
    options.signIn?.dev ? ' data-dev-sign-in="1"' : '',
    options.signIn?.providerUrl ? ` data-sign-in-url="${escapeAttribute(options.signIn.providerUrl)}"` : '',
  ].join('');
  return `${pageStart('foliostream')}  header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 14px 24px; border-bottom: 1px solid var(--line); }
  header .who { display: flex; align-items: center; gap: 8px; font-size: 12px; }
  header .settings-menu { display: flex; align-items: center; gap: 6px; font-size: 12px; max-width: 100%; }
  header .settings-menu select { font: inherit; background: #0f1419; color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 3px 6px; }
  button, a.button { font: inherit; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; cursor: pointer; text-decoration: none; display: inline-block; }
  button:disabled { opacity: .6; cursor: progress; }
  [hidden] { display: none !important; }
  button.primary, a.button.primary { background: var(--accent); border-color: var(--accent); color: #0b1117; font-weight: 600; }
  button.danger { border-color: var(--down); color: var(--down); }
  button.link { border: none; background: none; color: var(--accent); padding: 2px 4px; }
  /* Keyboard focus is always visible: every control, and the scrolling table boxes (tabindex=0). */
  button:focus-visible, a.button:focus-visible, input:focus-visible, select:focus-visible, [tabindex]:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
  .section-head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 8px; }
  .section-head h2 { margin: 0; }
  .actions { display: flex; flex-wrap: wrap; gap: 8px; }
  .progress { margin: 6px 0; min-height: 0; }
  .progress:empty { display: none; }
  .progress.ok, .pos { color: var(--up); }
  .progress.error, p.error { color: var(--down); }
  .empty-state { background: var(--panel); border: 1px dashed var(--line); border-radius: 8px; padding: 18px; text-align: center; }
  .empty-state h3 { margin: 0 0 6px; font-size: 16px; }
  .empty-state p { margin: 0; color: var(--muted); }
  ul.connections { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); }
  li.connection { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
  li.connection.broken, li.connection.needs_relink, li.connection.disabled { border-color: var(--down); }
  .connection-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
  .connection-head .actions { margin-left: auto; }
  .badge { font-size: 12px; padding: 1px 8px; border-radius: 999px; border: 1px solid var(--up); color: var(--up); }
  .badge.broken, .badge.needs_relink, .badge.disabled { border-color: var(--down); color: var(--down); }
  .reason { color: var(--down); margin: 6px 0 0; font-size: 13px; }
  ul.accounts { list-style: none; margin: 8px 0 0; padding: 0; font-size: 13px; }
  ul.accounts li { display: flex; justify-content: space-between; gap: 8px; padding: 3px 0; border-top: 1px solid var(--line); }
  .sync.syncing { color: var(--warn); } .sync.failed { color: var(--down); } .sync.idle { color: var(--muted); }
  .confirm { margin-top: 8px; padding: 8px; border: 1px solid var(--down); border-radius: 6px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
  .confirm p { margin: 0; flex-basis: 100%; }
  ul.user-list { list-style: none; padding: 0; margin: 12px 0; display: grid; gap: 6px; }
  ul.user-list button { width: 100%; display: flex; justify-content: space-between; gap: 8px; text-align: left; }
  .sign-in-form .row { display: flex; gap: 8px; }
  .sign-in-form .row input { flex: 1; min-width: 0; margin: 0; }
  .notice:empty { display: none; }
  .notice { color: var(--warn); }
  @media (max-width: 600px) {
    header { padding: 10px 12px; }
    header .meta { margin-left: 0; flex-basis: 100%; }
    main { padding: 12px; }
    .totals { grid-template-columns: repeat(2, minmax(0, 1fr)); }
    .card .value { font-size: 16px; }
    .login { margin: 24px 12px; padding: 16px; }
  }
  header h1 { font-size: 18px; margin: 0; font-weight: 600; letter-spacing: .02em; }
  header .meta { color: var(--muted); font-size: 12px; margin-left: auto; font-variant-numeric: tabular-nums; }
  .pill { font-size: 12px; padding: 2px 10px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); }
  .pill.ok { color: var(--up); border-color: var(--up); }
  .pill.bad { color: var(--down); border-color: var(--down); }
  main { padding: 20px 24px; max-width: 1280px; margin: 0 auto; }
  .totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-bottom: 20px; }
  .card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
  .card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
  .card .value { font-size: 20px; font-weight: 600; margin-top: 4px; font-variant-numeric: tabular-nums; }
  section { margin-bottom: 22px; overflow-x: auto; }
  section h2 { font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; margin: 0 0 8px; }
  .statuses { display: flex; flex-wrap: wrap; gap: 8px; }
  .statuses:empty::before { content: "none yet"; color: var(--muted); font-size: 12px; }
  .status { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; font-size: 12px; }
  .status.failed, .status.broken { border-color: var(--down); color: var(--down); }
  .status.syncing { border-color: var(--warn); color: var(--warn); }
  table { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
  th, td { padding: 8px 12px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
  th { color: var(--muted); font-weight: 500; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; background: #131920; }
  th:first-child, td:first-child { text-align: left; }
  tr.holding { cursor: pointer; }
  tr.holding:hover td { background: #1c242d; }
  .ticket { display: flex; flex-wrap: wrap; gap: 8px 10px; align-items: flex-end; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
  .ticket .field { display: flex; flex-direction: column; gap: 2px; }
  .ticket label { font-size: 12px; color: var(--muted); }
  .ticket .ticket-actions { flex-direction: row; gap: 8px; }
  .ticket input, .ticket select, .ticket button, button.link { font: inherit; background: #0f1419; color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; }
  .ticket input { width: 120px; }
  .ticket select { max-width: 100%; }
  /* The symbol suggestions drop over what follows the ticket, not into a scrolling box. */
  section.trade { overflow: visible; }
  @media (max-width: 600px) {
    .ticket .field { flex: 1 1 40%; min-width: 0; }
    .ticket .symbol-field, .ticket .ticket-actions { flex-basis: 100%; }
    .ticket input, .ticket select { width: 100%; }
  }
  .symbol-field { position: relative; }
  .suggestions { position: absolute; z-index: 2; left: 0; top: 100%; margin: 2px 0 0; padding: 0; list-style: none; min-width: 220px; background: var(--panel); border-radius: 6px; box-shadow: 0 4px 12px rgba(0, 0, 0, .5); }
  .suggestions:not(:empty) { border: 1px solid var(--line); }
  .suggestions button { display: block; width: 100%; text-align: left; border: 0; border-radius: 0; }
  .ticket button { border-color: var(--accent); color: var(--accent); cursor: pointer; }
  .ticket button.primary { background: var(--accent); color: #0b1117; font-weight: 600; }
  .ticket-result { margin-top: 8px; font-size: 13px; min-height: 1.4em; }
  .ticket-result.error { color: var(--down); }
  .ticket-result.ok { color: var(--up); }
  /* The orders panel (orders-panel.ts): four columns that wrap, so it fits a phone. */
  table.orders td { text-align: left; white-space: normal; vertical-align: top; }
  table.orders th { text-align: left; }
  table.orders td.order-action, table.orders th:last-child { text-align: right; width: 1%; white-space: nowrap; }
  .orders-status { margin: 0 0 8px; }
  table.orders time { white-space: nowrap; }
  @media (max-width: 600px) { table.orders th, table.orders td { padding: 6px 8px; } }
  .order-status.filled, .order-status.partially_filled { color: var(--up); }
  .order-status.accepted, .order-status.submitted, .order-status.pending { color: var(--accent); }
  .order-status.rejected, .order-status.failed { color: var(--down); }
  .order-status.canceled, .order-status.expired { color: var(--muted); }
  td .desc { display: block; color: var(--muted); font-size: 11px; max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
  td.symbol b { color: var(--accent); }
  .pos { color: var(--up); } .neg { color: var(--down); } .muted { color: var(--muted); }
  tr.detail td { background: #12171d; padding: 6px 12px 12px 36px; }
  tr.detail table { border: none; background: transparent; }
  tr.detail th { background: transparent; }
  tr.detail p.pl-split { margin: 0 0 8px; color: #c9d1d9; max-width: 72ch; }
  .caret { display: inline-block; width: 12px; color: var(--muted); }
  @keyframes flash-up { from { background: rgba(63, 185, 80, .45); } to { background: transparent; } }
  @keyframes flash-down { from { background: rgba(248, 81, 73, .45); } to { background: transparent; } }
  @keyframes flash { from { background: rgba(88, 166, 255, .4); } to { background: transparent; } }
  .flash-up { animation: flash-up 1.2s ease-out; }
  .flash-down { animation: flash-down 1.2s ease-out; }
  .flash { animation: flash 1.2s ease-out; }
  @media (prefers-reduced-motion: reduce) { .flash-up, .flash-down, .flash { animation: none; } }
  /* Holdings and Accounts tabs (holdings-table.ts, accounts-view.ts) */
  .portfolio-views { margin-bottom: 22px; }
  .tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--line); margin-bottom: 10px; }
  .tabs [role="tab"] { border: none; border-bottom: 2px solid transparent; border-radius: 0; background: none; color: var(--muted); padding: 8px 14px; font-size: 13px; font-weight: 600; text-transform: uppercase; letter-spacing: .05em; }
  .tabs [role="tab"][aria-selected="true"] { color: var(--text); border-bottom-color: var(--accent); }
  section.tab-panel { margin-bottom: 0; overflow: visible; }
  .search { display: flex; align-items: center; gap: 8px; flex: 1 1 240px; }
  .search input { font: inherit; flex: 0 1 320px; min-width: 0; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
  .table-scroll { overflow-x: auto; border-radius: 8px; }
  table.holdings { table-layout: fixed; min-width: 980px; }
  table.accounts { table-layout: fixed; min-width: 760px; }
  table.holdings th[data-field="symbol"] { width: 22%; }
  table.holdings th[data-field="quantity"], table.holdings th[data-field="accounts"] { width: 9%; }
  table.holdings th[data-field="fresh"] { width: 13%; }
  table.holdings td, table.accounts td { overflow: hidden; text-overflow: ellipsis; }
  table.holdings th:first-child, table.holdings td.symbol { position: sticky; left: 0; z-index: 1; }
  table.holdings td.symbol { background: var(--panel); }
  th button.sort { all: unset; cursor: pointer; display: inline-flex; align-items: center; gap: 4px; }
  th button.sort:focus-visible, button.caret:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
  th .arrow { display: inline-block; width: 1em; font-size: 10px; }
  td .main, td .listing, td .sub { display: block; }
  td .listing, td .sub { font-size: 11px; color: var(--muted); }
  td.pos .sub, td.neg .sub, td.order-status .sub { color: inherit; }
  button.caret { all: unset; cursor: pointer; display: inline-block; width: 14px; color: var(--muted); }
  td.symbol b { margin-right: 2px; }
  .fresh { display: inline-block; min-width: 11ch; font-size: 12px; padding: 1px 8px; border-radius: 999px; border: 1px solid var(--line); text-align: center; color: var(--muted); }
  .fresh.live { color: var(--up); border-color: var(--up); }
  .fresh.delayed { color: var(--warn); border-color: var(--warn); }
  table.accounts td[data-field="name"] { text-align: left; }
  table.accounts tr.account td { border-bottom: none; }
  tr.account-holdings td { text-align: left; white-space: normal; padding-top: 0; }
  ul.account-holdings { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 6px; }
  ul.account-holdings li { display: inline-flex; align-items: baseline; gap: 6px; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 3px 8px; font-size: 12px; white-space: nowrap; }
  ul.account-holdings li .listing { font-size: 11px; color: var(--muted); }
  table.accounts th:nth-child(2) { text-align: left; }
  td .institution-line { display: none; font-size: 11px; color: var(--muted); }
  @media (max-width: 600px) {
    .totals { grid-template-columns: repeat(2, minmax(0, 1fr)); }
    table.holdings { min-width: 730px; }
    table.holdings [data-field="quantity"], table.holdings [data-field="accounts"] { display: none; }
    table.holdings th[data-field="symbol"] { width: 140px; }
    table.holdings th[data-field="price"] { width: 100px; }
    table.holdings th[data-field="value"] { width: 110px; }
    table.holdings th[data-field="day"], table.holdings th[data-field="pl"] { width: 120px; }
    table.holdings th[data-field="fresh"] { width: 140px; }
    table.holdings td[data-field="fresh"] { white-space: normal; }
    table.accounts { min-width: 0; table-layout: auto; }
    table.accounts th:nth-child(1), table.accounts tr.account td:nth-child(1), table.accounts th:nth-child(n+5), table.accounts tr.account td:nth-child(n+5) { display: none; }
    table.accounts td .institution-line { display: block; }
    table.holdings th, table.holdings td, table.accounts th, table.accounts td { padding: 6px 8px; }
  }
  .login { max-width: 560px; margin: 80px auto; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 24px; }
  .login input { width: 100%; padding: 8px; margin: 12px 0; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; }
  .login h1 { font-size: 20px; margin: 0 0 8px; }
  .empty { color: var(--muted); text-align: center; padding: 24px; }
  .ranges { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
  .section-head .ranges { margin-bottom: 0; }
  .ranges button { padding: 4px 10px; font-size: 13px; }
  .ranges button[aria-pressed="true"] { border-color: var(--accent); color: var(--accent); }
  .history-chart { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
  .allocation-stack { display: flex; height: 12px; border-radius: 6px; overflow: hidden; background: var(--line); margin-bottom: 8px; }
  table.allocation td.part-label { white-space: normal; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 8px; }
  .bar { display: inline-block; width: 120px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; vertical-align: middle; margin-right: 8px; }
  .bar-fill { display: block; height: 100%; }
  .percent { display: inline-block; min-width: 3.5em; }
  .history-chart + .meta { margin-top: 4px; }
  @media (max-width: 600px) { table.activities th, table.activities td { padding: 6px 8px; } }
  @media (max-width: 600px) { .bar { width: 40px; margin-right: 6px; } table.allocation th, table.allocation td { padding: 6px 8px; } table.allocation th { white-space: normal; } .ranges { gap: 4px; } .ranges button { padding: 4px 7px; } }
${pageEnd(scriptUrl, attributes)}`;
}
