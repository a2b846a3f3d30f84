// Drives kura serve in Debian's headless Chromium (puppeteer-core, no browser
// download): history, a commit, a JSONL page with thumbnails, an image at
// full size, paging, findings filtered by rule, a diff with old and new
// images and the label-drift chart, an example excluded on the page (then
// `kura status` and `kura exclude --list` asked), two runs compared. Saves a
// screenshot of each page; exits non-zero on the first failed expectation,
// saying which.
//
//   node serve_browser.cjs URL SCREENSHOT_DIR KURA_BINARY REPOSITORY READ_ONLY_URL
//
// READ_ONLY_URL is a second server of the same repository, started with --read-only.
'use strict';
const puppeteer = require('puppeteer-core');
const path = require('path');
const { execFileSync } = require('child_process');

const [url, shots, kura, repo, readOnlyUrl] = process.argv.slice(2);
const kuraJson = (...args) => JSON.parse(execFileSync(kura, ['-C', repo, ...args], { encoding: 'utf8' }));

// A canvas that Chart.js drew into, with its size on the page.
async function chartDrawn(page, selector) {
  await page.waitForFunction(sel => {
    const c = document.querySelector(sel);
    return c && window.Chart && Chart.getChart(c) && c.getBoundingClientRect().height > 0;
  }, { timeout: 10000 }, selector);
  return page.$eval(selector, c => { const r = c.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; });
}
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
    const drift = await chartDrawn(page, 'canvas#labels');
    expect(drift[0] > 100 && drift[1] > 100, 'the label-drift chart drawn (' + drift.join('x') + ' px)');
    await shot('diff');

    // Curation: exclude line 4 of the current commit on the rows page.
    await page.evaluate(() => { location.hash = '#/rows?rev=HEAD&path=train.jsonl'; });
    await page.waitForSelector('#examples .example[data-line="4"] button.exclude');
    const before = kuraJson('status', '--json');
    expect(!before.untracked.includes('kura-exclusions.jsonl'), 'no exclusion record before');
    await page.click('#examples .example[data-line="4"] button.exclude');
    await page.type('#examples .example[data-line="4"] input.reason', 'grey scan, not a photo');
    await page.click('#examples .example[data-line="4"] button.confirm');
    await page.waitForSelector('#examples .example[data-line="4"] .badge.excluded.now', { timeout: 10000 });
    const result = await page.$eval('#examples .example[data-line="4"] .curation', e => e.textContent);
    expect(/excluded now: grey scan, not a photo/.test(result) && /kura-exclusions\.jsonl changed/.test(result),
      'the page shows the exclusion and that the record changed: ' + result);
    await shot('curation');
    await (await page.$('#examples .example[data-line="4"]')).screenshot({ path: path.join(shots, 'curation-line4.png') });
    const after = kuraJson('status', '--json');
    expect(after.untracked.includes('kura-exclusions.jsonl') || after.unstaged.some(c => c.path === 'kura-exclusions.jsonl'),
      'kura status shows kura-exclusions.jsonl (' + JSON.stringify(after) + ')');
    const listed = kuraJson('exclude', '--list', '--json').exclusions;
    expect(listed.length === 1 && listed[0].path === 'train.jsonl' && listed[0].line === 4 &&
      listed[0].reason === 'grey scan, not a photo', 'kura exclude --list names train.jsonl:4 with the reason');
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('#examples .example[data-line="4"] .badge.excluded.now');
    expect(await page.$('#examples .example[data-line="4"] button.include') !== null &&
      await page.$('#examples .example[data-line="3"] .badge.excluded.now') === null,
      'after a reload line 4 is excluded now (with Include) and line 3 is not');

    // The findings gallery knows it too, and includes it again.
    await page.evaluate(() => { location.hash = '#/findings?rule=image.bad_color_mode'; });
    await page.waitForSelector('#gallery .card .curation[data-line="4"] button.include');
    const others = await page.$$eval('#gallery .card .curation button.exclude', b => b.length);
    expect(others === 5, 'the other five grey images offer Exclude… (got ' + others + ')');
    await page.click('#gallery .card .curation[data-line="4"] button.include');
    await page.waitForSelector('#gallery .card .curation[data-line="4"] button.exclude', { timeout: 10000 });
    await shot('findings-included');
    expect(kuraJson('exclude', '--list', '--json').exclusions.length === 0, 'Include in the gallery emptied the record');


    // Runs: two real runs (kura train, on the two commits) compared.
    await page.click('#nav-runs');
    await page.waitForSelector('#runs tr.run');
    const runs = await page.$$eval('#runs tr.run', r => r.length);
    expect(runs === 2, 'two runs listed (got ' + runs + ')');
    await page.click('#compare');
    await page.waitForSelector('#comparison #metric-diff');
    const specDiff = await page.$eval('#spec-diff', e => e.textContent);
    expect(specDiff.includes('commit') && specDiff.includes('settings.epochs'), 'the spec differences name commit and settings.epochs');
    const dataDiff = await page.$eval('#data-diff', e => e.textContent);
    expect(/1 file differs/.test(dataDiff) && dataDiff.includes('train.jsonl'), 'the data difference: ' + dataDiff.slice(0, 80));
    const scoreRows = await page.$$eval('#score-diff tr', r => r.map(x => x.textContent));
    expect(scoreRows.length === 5 && scoreRows.some(t => t.startsWith('validation_accuracy')) &&
      scoreRows.some(t => t.startsWith('train_loss')), 'the scores side by side with their deltas: ' + scoreRows.join(' | '));
    const classRows = await page.$$eval('#class-diff tr', r => r.length);
    expect(classRows > 2, 'F1 by class listed (' + (classRows - 1) + ' classes)');
    const evals = await page.$eval('#eval-diff', e => e.textContent);
    expect(/evaluated|eval/.test(evals), 'the evals section says what there is: ' + evals.slice(0, 80));
    const metricRows = await page.$$eval('#metric-diff tr', r => r.length);
    expect(metricRows > 2, 'metric differences listed (' + (metricRows - 1) + ' rows)');
    const cmp = await chartDrawn(page, 'canvas#cmp-loss');
    expect(cmp[0] > 100 && cmp[1] > 100, 'both runs\' loss per epoch drawn (' + cmp.join('x') + ' px)');
    await shot('runs-compare');
    await page.click('#runs tr.run td a');
    await chartDrawn(page, 'canvas#loss');
    await shot('run');

    // A --read-only server of the same repository offers no write. (Last: its
    // cookie, for the same host, replaces the first server's.)
    const ro = await browser.newPage();
    ro.on('pageerror', e => errors.push('page error: ' + e.message));
    await ro.setViewport({ width: 1280, height: 900 });
    await ro.goto(readOnlyUrl + '#/rows?path=train.jsonl', { waitUntil: 'networkidle0' });
    await ro.waitForSelector('#examples .example[data-line="4"]');
    const buttons = await ro.$$eval('.curation button', b => b.length);
    const label = await ro.$eval('#repo', e => e.textContent);
    expect(buttons === 0 && label.endsWith('(read-only)'), 'the read-only page shows no Exclude/Include (' + buttons + ' buttons, ' + label + ')');
    const refused = await ro.evaluate(async () => {
      const s = await (await fetch('/api/session')).json();
      const r = await fetch('/api/exclude', { method: 'POST', headers: { 'X-Kura-Token': s.token },
                                              body: JSON.stringify({ path: 'train.jsonl', line: 4, reason: 'x' }) });
      return r.status;
    });
    expect(refused === 403, 'a POST to the read-only server answers 403 (got ' + refused + ')');
    await ro.close();
    expect(errors.length === 0, 'no script errors in the pages' + (errors.length ? ': ' + errors.join('; ') : ''));
  } catch (e) {
    if (page) await page.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    if (errors.length) e.message += ' (page errors: ' + errors.join('; ') + ')';
    throw e;
  } finally {
    await browser.close();
  }
})().catch(e => { console.error('browser test FAILED: ' + e.message); process.exit(1); });
