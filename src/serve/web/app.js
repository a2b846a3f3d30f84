// kura serve's pages: each view fetches its JSON twin under /api/ and draws
// it with DOM calls (never innerHTML with data: file contents are untrusted).
'use strict';

let session = { token: '', read_only: true };
const main = document.getElementById('main');

// el('div', {class: 'x', onclick: f}, child, 'text', ...)
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  return q.toString();
}

async function api(path, params) {
  const r = await fetch('/api/' + path + (params ? '?' + query(params) : ''), {
    headers: session.token ? { 'X-Kura-Token': session.token } : {},
    credentials: 'same-origin'
  });
  let j;
  try { j = await r.json(); } catch (e) { throw new Error('the server answered ' + r.status + ' without JSON'); }
  if (!r.ok) throw new Error(j.error || ('the server answered ' + r.status));
  return j;
}

// A write (POST, JSON body): the token header is what the server checks.
async function post(path, body) {
  const r = await fetch('/api/' + path, {
    method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
    headers: { 'X-Kura-Token': session.token, 'Content-Type': 'application/json' }
  });
  let j;
  try { j = await r.json(); } catch (e) { throw new Error('the server answered ' + r.status + ' without JSON'); }
  if (!r.ok) throw new Error(j.error || ('the server answered ' + r.status));
  return j;
}

const short = id => (id || '').slice(0, 12);
const when = t => new Date(t * 1000).toLocaleString();
function bytes(n) {
  if (n === undefined || n === null) return '';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}
const link = (view, params, ...text) => el('a', { href: '#/' + view + (params ? '?' + query(params) : '') }, ...text);

function show(...nodes) {
  main.replaceChildren(...nodes.flat(Infinity).filter(n => n !== undefined && n !== null && n !== false));
}
function failure(e) { return el('p', { class: 'error' }, e.message || String(e)); }

// --- images ---------------------------------------------------------------
function thumb(img) {
  if (!img || !img.object) {
    const why = img && (img.error || (img.url ? 'remote image ' + img.url : '')) || 'no image';
    return el('span', { class: 'badge warning' }, why);
  }
  const title = img.known ? `${img.width}x${img.height} ${img.format} ${img.mode}` : 'image ' + short(img.object);
  return el('img', { class: 'thumb', src: '/thumb/' + img.object + '?w=256', alt: title, title,
                     loading: 'lazy', onclick: () => zoom(img) });
}

async function zoom(img) {
  const overlay = document.getElementById('overlay');
  let facts = img;
  if (!img.known) { try { facts = await api('image', { id: img.object }); } catch (e) { facts = img; } }
  const row = (k, v) => [el('dt', {}, k), el('dd', {}, v)];
  overlay.replaceChildren(
    el('img', { src: '/object/' + img.object, alt: 'image ' + img.object }),
    el('dl', {},
      facts.known ? row('size', `${facts.width} x ${facts.height}`) : row('facts', 'not checked yet'),
      facts.known ? row('format', facts.format) : null,
      facts.known ? row('colour mode', facts.mode) : null,
      facts.known ? row('bytes', bytes(facts.bytes)) : null,
      facts.faces !== undefined ? row('faces', facts.faces) : null,
      facts.error ? row('error', facts.error) : null,
      row('object', img.object),
      el('dd', {}, el('button', { onclick: () => { overlay.hidden = true; } }, 'Close'))));
  overlay.hidden = false;
}
document.getElementById('overlay').addEventListener('click', e => {
  if (e.target.id === 'overlay') e.target.hidden = true;
});
document.addEventListener('keydown', e => { if (e.key === 'Escape') document.getElementById('overlay').hidden = true; });

// --- curation ---------------------------------------------------------------
// The working folder's exclusion of one example (path, line, row) or image
// file (path, line 0), with Exclude…/Include; `state` is the API's
// `exclusion` ({reason, line} or null). Read-only: the state, no buttons.
function curation(target, state) {
  const box = el('span', { class: 'curation', 'data-path': target.path, 'data-line': target.line || 0 });
  const draw = (st, message, error) => {
    const parts = [];
    if (st) parts.push(el('span', { class: 'badge excluded now', title: 'in the working folder\'s kura-exclusions.jsonl' },
      'excluded now: ' + st.reason));
    if (!session.read_only) {
      if (st) parts.push(el('button', { type: 'button', class: 'include', onclick: () => act('include') }, 'Include'));
      else parts.push(el('button', { type: 'button', class: 'exclude', onclick: ask }, 'Exclude…'));
    }
    if (message) parts.push(el('span', { class: 'result muted' }, message));
    if (error) parts.push(el('span', { class: 'result error' }, error));
    box.replaceChildren(...parts);
  };
  const ask = () => {
    const reason = el('input', { class: 'reason', placeholder: 'reason (required)', size: 28 });
    const form = el('form', { class: 'ask', onsubmit: e => { e.preventDefault(); act('exclude', reason.value); } },
      reason, el('button', { type: 'submit', class: 'confirm' }, 'Exclude'),
      el('button', { type: 'button', onclick: () => draw(state) }, 'Cancel'));
    box.replaceChildren(form);
    reason.focus();
  };
  const act = async (what, reason) => {
    const body = { path: target.path };
    if (target.line) body.line = target.line;
    if (target.row) body.row = target.row;
    if (what === 'exclude') body.reason = reason;
    try {
      const r = await post(what, body);
      const c = r.changes[0] || {};
      state = r.excluded ? { reason: c.reason || reason, line: c.line } : null;
      draw(state, c.action + (r.changed ? ' · kura-exclusions.jsonl changed (kura status shows it; not committed)' : ''));
    } catch (e) { draw(state, '', e.message); }
  };
  draw(state);
  return box;
}

// --- history --------------------------------------------------------------
function checks(s) {
  if (!s) return el('span', { class: 'muted' }, 'not checked');
  return el('span', {},
    s.errors ? el('span', { class: 'badge error' }, s.errors + ' errors') : null,
    s.warnings ? el('span', { class: 'badge warning' }, s.warnings + ' warnings') : null,
    s.excluded ? el('span', { class: 'badge excluded' }, s.excluded + ' excluded') : null,
    !s.errors && !s.warnings ? el('span', { class: 'badge info' }, 'clean') : null);
}

async function viewHistory() {
  const h = await api('history');
  const refs = (list, prefix) => list.map(r => el('span', { class: 'ref' }, prefix + r.name + (r.current ? ' (current)' : '')));
  show(
    el('h1', {}, 'History'),
    el('p', {}, 'Branches: ', refs(h.branches, ''), h.tags.length ? [' Tags: ', refs(h.tags, '')] : null),
    h.commits.length === 0 ? el('p', { class: 'muted' }, 'No commits yet: kura add, then kura commit.') :
    el('table', { id: 'commits' },
      el('tr', {}, el('th', {}, 'commit'), el('th', {}, 'message'), el('th', {}, 'author'), el('th', {}, 'time'),
         el('th', {}, 'checks'), el('th', {}, '')),
      h.commits.map(c => el('tr', { class: 'commit' },
        el('td', {}, link('tree', { rev: c.id }, el('code', {}, short(c.id)))),
        el('td', {}, c.refs.map(r => el('span', { class: 'ref' }, r)), c.message.split('\n')[0]),
        el('td', {}, c.author),
        el('td', {}, when(c.time)),
        el('td', {}, link('findings', { rev: c.id }, checks(c.checks))),
        el('td', {}, c.parents.length ? link('diff', { a: c.parents[0], b: c.id }, 'diff') : null)))),
    h.truncated ? el('p', { class: 'muted' }, 'Only the newest commits are shown.') : null);
}

// --- a commit's files -----------------------------------------------------
async function viewTree(p) {
  const rev = p.get('rev') || 'HEAD', path = p.get('path') || '';
  const t = await api('tree', { rev, path });
  const up = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  show(
    el('h1', {}, 'Commit ', el('code', {}, short(t.commit)), ' ', el('span', { class: 'muted' }, t.message.split('\n')[0])),
    el('p', {}, link('findings', { rev: t.commit }, 'Findings of this commit'), ' · ', '/' + path),
    el('table', { id: 'files' },
      el('tr', {}, el('th', {}, 'name'), el('th', {}, 'kind'), el('th', {}, 'size'), el('th', {}, 'rows')),
      path ? el('tr', {}, el('td', {}, link('tree', { rev: t.commit, path: up }, '..')), el('td'), el('td'), el('td')) : null,
      t.entries.map(e => el('tr', { class: 'file' },
        el('td', {}, e.kind === 'folder' ? link('tree', { rev: t.commit, path: e.path }, e.name + '/')
          : e.kind === 'table' ? link('rows', { rev: t.commit, path: e.path }, e.name)
          : e.kind === 'media' ? el('a', { href: '/object/' + e.object, target: '_blank' }, e.name) : e.name),
        el('td', {}, e.kind === 'folder' ? e.files + ' files' : e.kind),
        el('td', {}, bytes(e.size)),
        el('td', {}, e.rows !== undefined ? e.rows : '')))),
    t.truncated ? el('p', { class: 'muted' }, 'Only the first files of this folder are listed.') : null);
}

// --- JSONL examples -------------------------------------------------------
function example(ex, path) {
  const head = el('div', { class: 'head' }, 'line ' + ex.line, ' · row ', el('code', {}, short(ex.row)),
    ex.excluded ? el('span', { class: 'badge excluded', title: 'in this commit\'s check report' }, 'excluded in this commit') : null,
    (ex.findings || []).map(f => el('span', { class: 'badge ' + f.severity, title: f.message + ' — ' + f.fix }, f.rule)),
    curation({ path, line: ex.line, row: ex.row }, ex.exclusion));
  let body;
  if (!ex.json) body = el('div', { class: 'msg' }, el('div', { class: 'role' }, 'not JSON'), el('div', { class: 'body mono' }, ex.text));
  else if (!ex.messages.length) body = el('div', { class: 'msg' }, el('div', { class: 'role' }, 'row'), el('div', { class: 'body mono' }, ex.text || ''));
  else body = ex.messages.map(m => el('div', { class: 'msg ' + m.role },
    el('div', { class: 'role' }, m.role),
    el('div', { class: 'body' }, m.parts.map(p => p.type === 'image' ? thumb(p) : el('span', {}, p.text)))));
  return el('div', { class: 'example' + (ex.excluded ? ' excluded' : ''), 'data-line': ex.line }, head, body);
}

async function viewRows(p) {
  const rev = p.get('rev') || 'HEAD', path = p.get('path');
  const offset = Number(p.get('offset') || 0), q = p.get('q') || '', label = p.get('label') || '';
  const r = await api('rows', { rev, path, offset, limit: 50, q, label });
  const go = (o, extra) => { location.hash = '#/rows?' + query(Object.assign({ rev, path, offset: o, q, label }, extra || {})); };
  const qIn = el('input', { id: 'q', placeholder: 'text', value: q });
  const lIn = el('input', { id: 'label', placeholder: 'label (assistant answer)', value: label });
  const lineIn = el('input', { id: 'line', placeholder: 'line', size: 6 });
  const last = r.examples.length ? r.examples[r.examples.length - 1].line : offset;
  show(
    el('h1', {}, path, ' ', el('span', { class: 'muted' }, `${r.rows} rows · ${bytes(r.size)} · commit ${short(r.commit)}`)),
    el('form', { class: 'toolbar', onsubmit: e => { e.preventDefault(); go(0, { q: qIn.value, label: lIn.value }); } },
      qIn, lIn, el('button', { type: 'submit' }, 'Filter'),
      el('span', {}, ' Jump to '), lineIn,
      el('button', { type: 'button', onclick: () => go(Math.max(0, Number(lineIn.value || 1) - 1)) }, 'Go'),
      link('tree', { rev: r.commit, path: path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '' }, 'back to the files')),
    el('p', { class: 'muted' }, r.examples.length ? `lines ${r.examples[0].line}–${last}` : 'no example here',
      r.filtered ? ` (${r.scanned} rows searched)` : '', r.checked ? '' : ' · this commit has no check report'),
    el('div', { id: 'examples' }, r.examples.map(ex => example(ex, path))),
    el('div', { class: 'pager' },
      offset > 0 ? el('button', { id: 'prev', onclick: () => go(Math.max(0, offset - 50)) }, 'Previous') : null,
      r.next_offset !== null ? el('button', { id: 'next', onclick: () => go(r.next_offset) }, 'Next') : null));
}

// --- findings -------------------------------------------------------------
async function viewFindings(p) {
  const rev = p.get('rev') || 'HEAD';
  const f = { rule: p.get('rule') || '', severity: p.get('severity') || '', file: p.get('file') || '',
              excluded: p.get('excluded') || '', offset: Number(p.get('offset') || 0) };
  const r = await api('findings', Object.assign({ rev, limit: 60 }, f));
  const go = extra => { location.hash = '#/findings?' + query(Object.assign({ rev }, f, { offset: 0 }, extra)); };
  if (!r.stored) { show(el('h1', {}, 'Findings of ', el('code', {}, short(r.commit))), el('p', { class: 'muted' }, r.note)); return; }
  const s = r.summary;
  const select = (id, value, options, onchange) => el('select', { id, onchange: e => onchange(e.target.value) },
    options.map(([v, text]) => el('option', { value: v, selected: v === value }, text)));
  show(
    el('h1', {}, 'Findings of ', el('code', {}, short(r.commit)), ' ', el('span', { class: 'muted' }, r.message.split('\n')[0])),
    el('p', {}, `${s.files} files, ${s.examples} examples, ${s.images} images: `,
      checks(s), ` ${s.findings} findings`),
    el('div', { class: 'rules', id: 'rules' },
      el('div', { class: 'rule' + (f.rule ? '' : ' active'), onclick: () => go({ rule: '' }) }, 'all rules'),
      r.rules.map(g => el('div', { class: 'rule' + (g.rule === f.rule ? ' active' : ''), 'data-rule': g.rule,
                                  title: g.what || '', onclick: () => go({ rule: g.rule }) },
        el('code', {}, g.rule), ' ', el('b', {}, g.count),
        g.errors ? el('span', { class: 'badge error' }, g.errors) : null,
        g.warnings ? el('span', { class: 'badge warning' }, g.warnings) : null,
        g.excluded ? el('span', { class: 'badge excluded' }, g.excluded + ' excl.') : null))),
    el('div', { class: 'toolbar' },
      select('severity', f.severity, [['', 'any severity'], ['error', 'errors'], ['warning', 'warnings'], ['info', 'infos']], v => go({ severity: v })),
      select('file', f.file, [['', 'any file']].concat(r.files.map(x => [x.path, `${x.path} (${x.count})`])), v => go({ file: v })),
      select('excluded', f.excluded, [['', 'excluded or not'], ['yes', 'excluded'], ['no', 'not excluded']], v => go({ excluded: v })),
      el('span', { class: 'muted', id: 'matching' }, `${r.matching} matching`)),
    el('div', { class: 'gallery', id: 'gallery' }, r.findings.map(x => el('div', { class: 'card finding', 'data-rule': x.rule },
      x.object ? thumb({ object: x.object, known: false }) : null,
      el('div', {}, el('span', { class: 'badge ' + x.severity }, x.severity), x.excluded ? el('span', { class: 'badge excluded' }, 'excluded') : null,
        el('code', {}, x.rule)),
      el('div', {}, x.line ? link('rows', { rev: r.commit, path: x.path, offset: x.line - 1 }, `${x.path}:${x.line}`) : x.path),
      el('div', {}, x.message), el('div', { class: 'muted' }, x.fix),
      x.line && x.row ? curation({ path: x.path, line: x.line, row: x.row }, x.exclusion)
        : !x.line && !/\.jsonl$/i.test(x.path) ? curation({ path: x.path, line: 0 }, x.exclusion) : null))),
    el('div', { class: 'pager' },
      f.offset > 0 ? el('button', { onclick: () => go({ rule: f.rule, offset: Math.max(0, f.offset - 60) }) }, 'Previous') : null,
      f.offset + r.findings.length < r.matching ? el('button', { onclick: () => go({ rule: f.rule, offset: f.offset + 60 }) }, 'Next') : null));
}

// --- diff -----------------------------------------------------------------
function value(v, img) {
  if (img) return thumb(Object.assign({ known: true }, img));
  if (v === null || v === undefined) return el('span', { class: 'muted' }, '(none)');
  return typeof v === 'string' ? v : JSON.stringify(v);
}
function words(spans, side) {
  return spans.filter(s => s.op === '=' || s.op === side).map(s => s.op === '=' ? s.text : el(side === '-' ? 'del' : 'ins', {}, s.text));
}
function rowChange(rc, a, b, path) {
  const head = el('div', { class: 'head' }, el('b', {}, rc.kind), ' ',
    rc.old_line ? link('rows', { rev: a, path, offset: rc.old_line - 1 }, 'old line ' + rc.old_line) : '', ' ',
    rc.new_line ? link('rows', { rev: b, path, offset: rc.new_line - 1 }, 'new line ' + rc.new_line) : '');
  if (rc.kind === 'modified') {
    return el('div', { class: 'example' }, head, (rc.changes || []).map(c => el('div', { class: 'side' },
      el('div', { class: 'old' }, el('div', { class: 'muted mono' }, c.pointer), c.text ? words(c.text, '-') : value(c.old, c.old_image)),
      el('div', { class: 'new' }, el('div', { class: 'muted mono' }, c.pointer), c.text ? words(c.text, '+') : value(c.new, c.new_image)))));
  }
  const side = rc.kind === 'removed' ? 'old' : 'new';
  return el('div', { class: 'example' }, head,
    el('div', { class: side }, (rc.images || []).map(i => thumb(Object.assign({ known: true }, i))),
      el('div', { class: 'mono' }, typeof rc.row === 'string' ? rc.row : JSON.stringify(rc.row))));
}

async function viewDiff(p) {
  const a = p.get('a') || 'HEAD~1', b = p.get('b') || 'HEAD';
  const aIn = el('input', { id: 'a', value: a }), bIn = el('input', { id: 'b', value: b });
  const form = el('form', { class: 'toolbar', onsubmit: e => { e.preventDefault(); location.hash = '#/diff?' + query({ a: aIn.value, b: bIn.value }); } },
    'from ', aIn, ' to ', bIn, el('button', { type: 'submit' }, 'Compare'));
  show(el('h1', {}, 'Diff'), form, el('p', { class: 'muted' }, 'Comparing…'));
  let d;
  try { d = await api('diff', { a, b }); } catch (e) { show(el('h1', {}, 'Diff'), form, failure(e)); return; }
  const t = d.totals;
  const chartBox = el('div', { class: 'chart-wide' }, el('canvas', { id: 'labels' }));
  // kura diff --labels gives an entry for all tables together (path null)
  // only when there are several; with one table, that table's is the total.
  const labelSets = d.labels || [];
  const all = labelSets.find(l => l.path === null) || (labelSets.length === 1 ? labelSets[0] : null);
  show(el('h1', {}, 'Diff'), form,
    el('p', {}, `${short(d.from)} → ${short(d.to)}: files +${t.files_added} -${t.files_deleted} ~${t.files_modified}, ` +
      `rows +${t.rows_added} -${t.rows_removed} ~${t.rows_modified} moved ${t.rows_moved}, images +${t.images_added} -${t.images_removed}`),
    all && all.labels.length ? el('div', { class: 'charts' }, chartBox) : null,
    d.files.length ? null : el('p', { class: 'muted' }, 'No difference.'),
    d.files.map(f => el('section', { class: 'file-diff' },
      el('h2', {}, f.status, ' ', f.path, f.old_path ? ` (was ${f.old_path})` : ''),
      f.old_image || f.new_image ? el('div', { class: 'side' },
        el('div', { class: 'old' }, f.old_image ? thumb(Object.assign({ known: true }, f.old_image)) : '(none)'),
        el('div', { class: 'new' }, f.new_image ? thumb(Object.assign({ known: true }, f.new_image)) : '(none)')) : null,
      f.stat ? el('p', { class: 'muted' }, `${f.stat.old_rows} → ${f.stat.new_rows} rows: +${f.stat.added} -${f.stat.removed} ~${f.stat.modified} moved ${f.stat.moved}`) : null,
      (f.rows || []).map(rc => rowChange(rc, d.from, d.to, f.path)),
      f.rows_total ? el('p', { class: 'muted' }, `${f.rows_shown} of ${f.rows_total} row changes shown; kura diff --json has all`) : null)));
  if (all && all.labels.length && window.Chart) {
    const top = all.labels.slice(0, 20);
    new Chart(document.getElementById('labels'), { type: 'bar', options: { maintainAspectRatio: false, plugins: { title: { display: true, text: 'label drift' + (all.path ? ' (' + all.path + ')' : '') + ': old and new counts' } } },
      data: { labels: top.map(l => l.label), datasets: [{ label: 'old', data: top.map(l => l.old), backgroundColor: '#e8a29b' },
                                                         { label: 'new', data: top.map(l => l.new), backgroundColor: '#8fcf98' }] } });
  }
}

// --- runs -----------------------------------------------------------------
// Chart.js 3 (Debian's) draws every series grey unless told a colour.
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const colour = i => palette[i % palette.length];
// Speed and memory are not quality: they stay in the tables, out of the charts.
const charted = k => !/second|rss|bytes|memory/.test(k);
// Runs may be kura's own or external (recipe "external", recorded from
// Python): settings may lack "epochs", an epoch holds any numbers.
const spec = r => (r && r.spec) || {};
function epochsText(r) {
  const done = (r.summary || {}).epochs_done, planned = (spec(r).settings || {}).epochs;
  if (done === undefined) return '';
  return typeof planned === 'number' ? `${done}/${planned}` : String(done);
}
const shown = v => v === null || v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v);

async function viewRuns(p) {
  const r = await api('runs');
  const a = p.get('a') || '', b = p.get('b') || '';
  const pick = (side, x, chosen) => el('input', { type: 'radio', name: side, value: x.id, class: 'pick-' + side,
                                                 checked: x.id === chosen });
  const compare = () => {
    const ca = document.querySelector('input[name=a]:checked'), cb = document.querySelector('input[name=b]:checked');
    if (ca && cb) location.hash = '#/runs?' + query({ a: ca.value, b: cb.value });
  };
  show(el('h1', {}, 'Training runs'),
    r.runs.length === 0 ? el('p', { class: 'muted' }, 'No training run yet (kura train).') : [
      el('table', { id: 'runs' }, el('tr', {}, el('th', {}, 'A'), el('th', {}, 'B'), el('th', {}, 'run'), el('th', {}, 'commit'),
          el('th', {}, 'recipe'), el('th', {}, 'epochs'), el('th', {}, 'status'), el('th', {}, 'started')),
        r.runs.map((x, i) => el('tr', { class: 'run' },
          el('td', {}, pick('a', x, a || (r.runs[1] || {}).id)), el('td', {}, pick('b', x, b || (i === 0 ? x.id : ''))),
          el('td', {}, link('run', { id: x.id }, el('code', {}, short(x.id)))),
          el('td', {}, el('code', {}, short(spec(x).commit))),
          el('td', {}, spec(x).recipe || '', spec(x).recipe === 'external' && (spec(x).settings || {}).model ? ' (' + spec(x).settings.model + ')' : ''),
          el('td', {}, epochsText(x)), el('td', {}, x.status), el('td', {}, x.started ? when(x.started) : '')))),
      r.runs.length > 1 ? el('p', {}, el('button', { id: 'compare', type: 'button', onclick: compare }, 'Compare A and B')) : null,
      el('div', { id: 'comparison' })]);
  if (a && b) await drawComparison(a, b);
}

// A number as the run diff shows it (null: the run has none), and a delta
// with its sign, marked better or worse (for a loss, lower is better).
const num = v => typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : '–';
function deltaCell(v, lowerIsBetter) {
  if (typeof v !== 'number') return el('td', {}, '–');
  const good = lowerIsBetter ? v < 0 : v > 0, bad = lowerIsBetter ? v > 0 : v < 0;
  return el('td', { class: good ? 'better' : bad ? 'worse' : '' }, (v > 0 ? '+' : '') + num(v));
}

function scoreTable(d) {
  const s = d.scores || {};
  const keys = Object.keys(s);
  if (keys.length === 0) return el('p', { class: 'muted', id: 'score-diff' }, 'Neither run has scores.');
  return el('table', { id: 'score-diff', class: 'run-diff' },
    el('tr', {}, el('th', {}, 'score'), el('th', {}, 'A ' + short(d.a)), el('th', {}, 'B ' + short(d.b)), el('th', {}, 'B − A')),
    keys.map(k => el('tr', {}, el('td', {}, el('code', {}, k)), el('td', {}, num(s[k].a)), el('td', {}, num(s[k].b)),
      deltaCell(s[k].delta, /loss/.test(k)))));
}

function classTable(d) {
  const c = d.classes || [];
  if (c.length === 0) return el('p', { class: 'muted', id: 'class-diff' }, 'Neither run has per-class scores.');
  const support = x => x.support ? num(x.support.a) + ' / ' + num(x.support.b) : '–';
  return el('table', { id: 'class-diff', class: 'run-diff' },
    el('tr', {}, el('th', {}, 'label'), el('th', {}, 'F1 A'), el('th', {}, 'F1 B'), el('th', {}, 'B − A'), el('th', {}, 'support A / B')),
    c.map(x => el('tr', {}, el('td', {}, x.label), el('td', {}, num(x.a)), el('td', {}, num(x.b)), deltaCell(x.delta, false),
      el('td', {}, support(x)))));
}

function evalTable(d) {
  const e = d.evals || {};
  const paired = e.paired || [], na = (e.a || []).length, nb = (e.b || []).length;
  if (na + nb === 0) return el('p', { class: 'muted', id: 'eval-diff' }, 'Neither run has been evaluated (kura eval RUN).');
  const note = el('p', { class: 'muted' }, `A has ${na} eval${na === 1 ? '' : 's'}, B ${nb}; ` +
    (paired.length ? `${paired.length} on the same commit and split:` : 'none on the same commit and split.'));
  if (paired.length === 0) return el('div', { id: 'eval-diff' }, note);
  return el('div', { id: 'eval-diff' }, note, el('table', { class: 'run-diff' },
    el('tr', {}, el('th', {}, 'commit'), el('th', {}, 'split'), el('th', {}, 'accuracy A'), el('th', {}, 'accuracy B'), el('th', {}, 'B − A')),
    paired.map(x => el('tr', {}, el('td', {}, el('code', {}, short(x.commit))), el('td', {}, x.split), el('td', {}, num(x.a)),
      el('td', {}, num(x.b)), deltaCell(x.delta, false)))));
}

async function drawComparison(a, b) {
  const box = document.getElementById('comparison');
  let d;
  try { d = await api('run-diff', { a, b }); } catch (e) { box.replaceChildren(failure(e)); return; }
  const diffTable = (id, rows, empty) => rows.length === 0 ? el('p', { class: 'muted', id }, empty) :
    el('table', { id, class: 'run-diff' }, el('tr', {}, el('th', {}, 'key'), el('th', {}, 'A ' + short(d.a)), el('th', {}, 'B ' + short(d.b))),
      rows.map(x => el('tr', {}, el('td', {}, el('code', {}, x.key)), el('td', { class: 'old' }, shown(x.a)), el('td', { class: 'new' }, shown(x.b)))));
  const [ra, rb] = d.runs;
  const ca = spec(ra.run).commit, cb = spec(rb.run).commit;
  box.replaceChildren(
    el('h2', {}, 'A ', el('code', {}, short(d.a)), ' compared with B ', el('code', {}, short(d.b))),
    el('h3', {}, 'Spec'), diffTable('spec-diff', d.spec, 'The specs are identical.'),
    el('h3', {}, 'Data'),
    ca === cb ? el('p', { class: 'muted', id: 'data-diff' }, 'Both trained on commit ' + short(ca) + '.') :
      el('div', { id: 'data-diff' },
        el('p', {}, `${d.data.length} ${d.data.length === 1 ? 'file differs' : 'files differ'} between the commits `, link('diff', { a: ca, b: cb }, short(ca) + ' → ' + short(cb))),
        el('ul', {}, d.data.map(x => el('li', {}, x.change + ' ', el('code', {}, x.path))))),
    el('h3', {}, 'Scores after the last epoch'), scoreTable(d),
    el('h3', {}, 'F1 by class (validation)'), classTable(d),
    el('h3', {}, 'Evals'), evalTable(d),
    el('h3', {}, 'Metrics'), diffTable('metric-diff', d.metrics, 'The final metrics are identical.'),
    el('div', { class: 'charts' }, el('div', {}, el('canvas', { id: 'cmp-loss' })), el('div', {}, el('canvas', { id: 'cmp-other' }))));
  if (!window.Chart) return;
  const epochs = x => (x.metrics && Array.isArray(x.metrics.epochs)) ? x.metrics.epochs : [];
  const keys = new Set();
  for (const x of d.runs) for (const e of epochs(x)) for (const [k, v] of Object.entries(e)) if (k !== 'epoch' && typeof v === 'number') keys.add(k);
  const n = Math.max(...d.runs.map(x => epochs(x).length), 0);
  const sets = pred => [...keys].filter(k => charted(k) && pred(k)).flatMap((k, j) => d.runs.map((x, i) => ({
    label: (i ? 'B ' : 'A ') + k, borderDash: i ? [6, 3] : [], borderColor: colour(j), backgroundColor: colour(j),
    data: epochs(x).map(e => typeof e[k] === 'number' ? e[k] : null) })));
  const chart = (id, ds, title) => new Chart(document.getElementById(id), { type: 'line',
    options: { maintainAspectRatio: false, plugins: { title: { display: true, text: title } } },
    data: { labels: Array.from({ length: n }, (_, i) => i + 1), datasets: ds } });
  chart('cmp-loss', sets(k => k.includes('loss')), 'loss per epoch, A solid, B dashed');
  chart('cmp-other', sets(k => !k.includes('loss')), 'other metrics per epoch, A solid, B dashed');
}

async function viewRun(p) {
  const r = await api('run', { id: p.get('id') });
  const epochs = (r.metrics && Array.isArray(r.metrics.epochs)) ? r.metrics.epochs : [];
  const series = key => epochs.map(e => typeof e[key] === 'number' ? e[key] : null);
  const keySet = new Set();
  for (const e of epochs) for (const [k, v] of Object.entries(e || {})) if (k !== 'epoch' && typeof v === 'number') keySet.add(k);
  const keys = [...keySet].filter(charted);
  const loss = keys.filter(k => k.includes('loss')), acc = keys.filter(k => !k.includes('loss'));
  const labels = (r.metrics && r.metrics.labels) || [];
  show(el('h1', {}, 'Run ', el('code', {}, short(r.run.id)), spec(r.run).recipe === 'external' ? el('span', { class: 'badge info' }, 'external') : null),
    el('pre', { class: 'mono' }, JSON.stringify(r.run.spec, null, 2)),
    epochs.length ? el('div', { class: 'charts' }, el('div', {}, el('canvas', { id: 'loss' })), el('div', {}, el('canvas', { id: 'acc' })))
      : el('p', { class: 'muted' }, 'No per-epoch metrics recorded.'),
    r.metrics && Array.isArray(r.metrics.confusion) ? el('div', {}, el('h2', {}, 'Confusion matrix'),
      el('table', {}, el('tr', {}, el('th', {}, 'true \\ predicted'), labels.map(l => el('th', {}, l))),
        r.metrics.confusion.map((row, i) => el('tr', {}, el('th', {}, labels[i]), (row || []).map(n => el('td', {}, n)))))) : null);
  if (!window.Chart || !epochs.length) return;
  const line = (id, ks, title) => new Chart(document.getElementById(id), { type: 'line', options: { maintainAspectRatio: false, plugins: { title: { display: true, text: title } } },
    data: { labels: epochs.map((e, i) => typeof e.epoch === 'number' ? e.epoch : i + 1), datasets: ks.map((k, j) => ({ label: k, data: series(k), borderColor: colour(j), backgroundColor: colour(j) })) } });
  line('loss', loss, 'loss per epoch');
  line('acc', acc, 'other metrics per epoch');
}

// --- routing --------------------------------------------------------------
const views = { '': viewHistory, tree: viewTree, rows: viewRows, findings: viewFindings, diff: viewDiff, runs: viewRuns, run: viewRun };

async function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, q] = hash.split('?');
  const params = new URLSearchParams(q || '');
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('href') === '#/' + name);
  const view = views[name] || viewHistory;
  try { await view(params); } catch (e) { show(failure(e)); }
  document.body.dataset.view = name || 'history';
}

async function start() {
  const url = new URL(location.href);
  if (url.searchParams.has('token')) {  // the cookie is set; keep the token out of the address bar
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  try {
    session = await api('session');
    document.getElementById('repo').textContent = session.root + (session.read_only ? ' (read-only)' : '');
  } catch (e) { show(failure(e)); return; }
  window.addEventListener('hashchange', route);
  await route();
}
start();
