// Drives kura serve in Debian's headless Chromium (puppeteer-core, no browser
// download): history, a commit, a JSONL page with thumbnails, an image at
// full size, paging, findings filtered by rule, a diff with old and new
// images. Saves a screenshot of each page; exits non-zero on the first
// failed expectation, saying which.
//
//   node serve_browser.cjs URL SCREENSHOT_DIR
'use strict';
const puppeteer = require('puppeteer-core');
const path = require('path');

const [url, shots] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

function expect(ok, what) {
  if (!ok) throw new Error('expected ' + what);
  console.log('ok: ' + what);
}

// Every image matching `selector` (at least `min`) loaded with pixels.
async function imagesLoaded(page, selector, min) {
  await page.waitForFunction((sel, n) => {
    const imgs = [...document.querySelectorAll(sel)];
    return imgs.length >= n && imgs.every(i => i.complete);
  }, { timeout: 20000 }, selector, min);
  return page.$$eval(selector, imgs => imgs.map(i => i.naturalWidth));
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run']
  });
  const errors = [];
  let page;
  try {
    page = await browser.newPage();
    page.on('pageerror', e => errors.push('page error: ' + e.message));
    page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
    await page.setViewport({ width: 1280, height: 900 });
    const shot = name => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });

    // History.
    await page.goto(url, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#commits tr.commit');
    const commits = await page.$$eval('#commits tr.commit', rows => rows.length);
    expect(commits === 2, 'two commits in the history (got ' + commits + ')');
    expect(!(await page.url()).includes('token='), 'the token removed from the address bar');
    await shot('history');

    // Into the older commit, then the table.
    await Promise.all([page.waitForSelector('#files tr.file'), page.click('#commits tr.commit:last-child td a')]);
    await shot('commit');
    await Promise.all([page.waitForSelector('#examples .example'), page.click('#files a[href*="train.jsonl"]')]);
    const shown = await page.$$eval('#examples .example', e => e.length);
    expect(shown === 50, 'the first page holds 50 examples (got ' + shown + ')');
    const widths = await page.$$eval('#examples img.thumb', imgs => imgs.slice(0, 8).map(i => { i.loading = 'eager'; return i.src; }));
    expect(widths.every(s => s.includes('/thumb/')), 'images are thumbnails by object id, not base64');
    const natural = await imagesLoaded(page, '#examples .example:nth-child(-n+8) img.thumb', 8);
    expect(natural.every(w => w > 0), 'the first thumbnails loaded (naturalWidth ' + natural.join(',') + ')');
    await shot('rows');

    // An image at full size with its facts.
    await page.click('#examples .example:first-child img.thumb');
    await page.waitForSelector('#overlay:not([hidden]) img');
    const full = await imagesLoaded(page, '#overlay img', 1);
    expect(full[0] > 256, 'the full-size image loaded (' + full[0] + ' px wide)');
    const facts = await page.$eval('#overlay dl', d => d.textContent);
    expect(/jpeg/.test(facts) && /\d+ x \d+/.test(facts), 'the image facts shown: ' + facts.slice(0, 80));
    await shot('image');
    await page.keyboard.press('Escape');

    // The second page.
    await page.click('#next');
    await page.waitForSelector('#examples .example[data-line="51"]');
    const second = await page.$$eval('#examples .example', e => e.length);
    expect(second === 10, 'the second page holds lines 51-60 (got ' + second + ')');

    // Findings, filtered by rule.
    await page.click('#nav-findings');
    await page.waitForSelector('#rules .rule[data-rule]');
    await shot('findings');
    await page.click('#rules .rule[data-rule="image.bad_color_mode"]');
    await page.waitForFunction(() => {
      const cards = [...document.querySelectorAll('#gallery .card')];
      return cards.length > 0 && cards.every(c => c.dataset.rule === 'image.bad_color_mode');
    }, { timeout: 10000 });
    const cards = await page.$$eval('#gallery .card', c => c.length);
    expect(cards === 6, 'six image.bad_color_mode findings after filtering (got ' + cards + ')');
    const cardImgs = await imagesLoaded(page, '#gallery .card img.thumb', 6);
    expect(cardImgs.every(w => w > 0), 'the findings show their images');
    await shot('findings-filtered');

    // A diff: line 2 changed its picture and label.
    await page.click('#nav-diff');
    await page.waitForSelector('.file-diff');
    const sides = await imagesLoaded(page, '.file-diff .side .old img.thumb, .file-diff .side .new img.thumb', 2);
    expect(sides.length >= 2 && sides.every(w => w > 0), 'old and new images side by side in the diff');
    const text = await page.$eval('.file-diff', d => d.textContent);
    expect(text.includes('penguin'), 'the new label in the diff');
    await shot('diff');

    await page.click('#nav-runs');
    await page.waitForFunction(() => document.body.dataset.view === 'runs');
    expect(errors.length === 0, 'no script errors in the pages' + (errors.length ? ': ' + errors.join('; ') : ''));
  } catch (e) {
    if (page) await page.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    if (errors.length) e.message += ' (page errors: ' + errors.join('; ') + ')';
    throw e;
  } finally {
    await browser.close();
  }
})().catch(e => { console.error('browser test FAILED: ' + e.message); process.exit(1); });
