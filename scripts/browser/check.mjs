// Renders a report.html in Chromium (through playwright-core) and checks
// what a reader sees: at 1280 px and at 420 px wide, and printed on A4.
//
//   node scripts/browser/check.mjs REPORT.html OUT_DIR
//
// Writes OUT_DIR/report-1280.png and report-420.png (full-page
// screenshots), report.pdf (printed as the browser prints it, A4 from the
// page's @page rule) and headings.txt (the headings, one a line, for the
// page-break check in scripts/check-report.sh). Prints one line per check
// and exits 1 when any fails:
//   - no console error, page error or request for anything but the file;
//   - the page is no wider than the window (no sideways scrolling);
//   - no element sticks out of the window, except inside a box that
//     scrolls (a wide table scrolls in its own box);
//   - every figure's SVG has a size and fits the window; every <img> loads;
//   - every table shows every column of its header (a cell of zero width
//     is a hidden arm), and Table 1's arm columns are in view without
//     scrolling its box;
//   - printed: the same at the A4 text width.
import { chromium } from 'playwright-core';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [html, out] = process.argv.slice(2);
if (!html || !out) {
  console.error('usage: node check.mjs REPORT.html OUT_DIR');
  process.exit(2);
}
const url = pathToFileURL(resolve(html)).href;
const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`  FAIL ${msg}`); };
const ok = (msg) => console.log(`  ok   ${msg}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Runs in the page: what overflows the window, the figures, the tables.
function measure() {
  const vw = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className : '')
    + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  const sticking = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > vw + 1 || r.left < -1) && !scrolls(el)) sticking.push(name(el));
  }
  const figures = [...document.querySelectorAll('figure')].map((f) => {
    const svg = f.querySelector('svg');
    const r = svg ? svg.getBoundingClientRect() : null;
    return { svg: !!svg, w: r ? r.width : 0, h: r ? r.height : 0, right: r ? r.right : 0 };
  });
  const images = [...document.images].map((i) => ({ src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0 }));
  const tables = [...document.querySelectorAll('table')].map((t) => {
    const caption = (t.querySelector('caption')?.textContent || '').slice(0, 50);
    const hidden = [...t.querySelectorAll('thead th')].filter((th) => th.getBoundingClientRect().width < 1).length;
    const r = t.getBoundingClientRect();
    // Table 1's arm columns ("S (n = 15)"): in view without scrolling.
    const arms = [...t.querySelectorAll('thead th')].filter((th) => /\(n = \d+\)/.test(th.textContent));
    const armsOut = caption.startsWith('Table 1')
      ? arms.filter((th) => th.getBoundingClientRect().right > vw + 1).map((th) => th.textContent)
      : [];
    return { caption, hidden, right: r.right, columns: t.querySelectorAll('thead th').length, arms: arms.length, armsOut };
  });
  const headings = [...document.querySelectorAll('h1, h2, h3, h4')].map((h) => h.textContent.trim());
  return {
    vw, scrollWidth: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    sticking, figures, images, tables, headings,
  };
}

function check(label, m) {
  if (m.scrollWidth > m.vw) fail(`${label}: the page is ${m.scrollWidth} px wide in a ${m.vw} px window (sideways scrolling)`);
  else ok(`${label}: page width ${m.scrollWidth} <= window ${m.vw}`);
  if (m.sticking.length) fail(`${label}: ${m.sticking.length} elements stick out of the window: ${m.sticking.slice(0, 5).join('; ')}`);
  else ok(`${label}: no element sticks out of the window`);
  const badFig = m.figures.filter((f) => !f.svg || f.w < 50 || f.h < 50 || f.right > m.vw + 1);
  if (m.figures.length === 0) fail(`${label}: no figure`);
  else if (badFig.length) fail(`${label}: ${badFig.length} of ${m.figures.length} figures have no size or do not fit: ${JSON.stringify(badFig[0])}`);
  else ok(`${label}: ${m.figures.length} figures drawn, each within the window (${m.figures.map((f) => Math.round(f.w)).join(', ')} px wide)`);
  const badImg = m.images.filter((i) => !i.ok);
  if (badImg.length) fail(`${label}: ${badImg.length} images do not load: ${badImg[0].src}`);
  else ok(`${label}: ${m.images.length} <img> elements, all loaded`);
  const badTab = m.tables.filter((t) => t.hidden > 0 || t.right > m.vw + 1);
  if (badTab.length) fail(`${label}: tables with hidden columns or wider than the window: ${JSON.stringify(badTab[0])}`);
  else ok(`${label}: ${m.tables.length} tables, every header column shown, each within the window`);
  const t1 = m.tables.find((t) => t.caption.startsWith('Table 1'));
  if (!t1) fail(`${label}: no Table 1`);
  else if (t1.arms < 2 || t1.armsOut.length) fail(`${label}: Table 1 shows ${t1.arms} arm columns, out of view without scrolling: ${t1.armsOut.join(', ')}`);
  else ok(`${label}: Table 1 shows its ${t1.arms} arm columns without scrolling`);
}

const problems = [];
for (const width of [1280, 420]) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url().slice(0, 80)}`));
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`request to ${r.url().slice(0, 80)}`); });
  await page.goto(url, { waitUntil: 'load' });
  const m = await page.evaluate(measure);
  check(`${width} px`, m);
  await page.screenshot({ path: `${out}/report-${width}.png`, fullPage: true });
  ok(`${width} px: screenshot ${out}/report-${width}.png (${width} x ${m.height})`);
  if (width === 1280) {
    writeFileSync(`${out}/headings.txt`, m.headings.join('\n') + '\n');
    // Printed: A4 less the @page margins (210 - 2 x 14 mm = 182 mm = 688 px).
    await page.emulateMedia({ media: 'print' });
    await page.setViewportSize({ width: 688, height: 1000 });
    check('print (A4 text width)', await page.evaluate(measure));
    await page.pdf({ path: `${out}/report.pdf`, preferCSSPageSize: true, printBackground: true });
    ok(`printed to ${out}/report.pdf`);
  }
  await context.close();
}
await browser.close();
if (problems.length) fail(`the page logged: ${[...new Set(problems)].slice(0, 5).join('; ')}`);
else ok('no console error, page error or request outside the file');
if (failures.length) {
  console.log(`check.mjs: ${failures.length} checks failed`);
  process.exit(1);
}
