// Server-rendered pages. Nothing on them names an image's source; the answer is never shown.

import { escapeHtml } from '@skingan/metrics';

const CSS = `*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;background:#15171a;color:#eee}
main{max-width:1100px;margin:0 auto;padding:.8rem 1rem;display:flex;flex-direction:column;align-items:center;gap:.6rem}
header{width:100%;display:flex;align-items:center;gap:1rem}header .who{color:#aaa;white-space:nowrap}
progress{flex:1;height:.9rem;accent-color:#4c9be8}.count{white-space:nowrap;font-variant-numeric:tabular-nums}
.image{width:min(60vh,94vw);height:min(60vh,94vw);background:#000;display:flex;align-items:center;justify-content:center;border-radius:6px;overflow:hidden}
.image img{width:100%;height:100%;object-fit:contain}
form{display:flex;flex-direction:column;align-items:center;gap:.55rem;width:100%}
fieldset{border:0;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.5rem;justify-content:center;align-items:center}
legend{float:left;margin-right:.6rem;color:#aaa;font-size:.9rem}
input[type=radio]{position:absolute;opacity:0;width:1px;height:1px}
label.btn{display:inline-block;border:2px solid #555;border-radius:8px;padding:.45rem .75rem;cursor:pointer;background:#23262b;font-size:1rem;user-select:none}
label.big{font-size:1.35rem;padding:.8rem 2.4rem;min-width:11rem;text-align:center}
input:checked+label.btn{border-color:#4c9be8;background:#1e3b5c}input:focus-visible+label.btn{outline:2px solid #fff}
kbd{font-family:ui-monospace,monospace;font-size:.8em;border:1px solid #777;border-radius:4px;padding:0 .3em;margin-left:.4em;color:#ccc}
button{font-size:1.15rem;padding:.7rem 2.6rem;border-radius:8px;border:0;background:#4c9be8;color:#fff;cursor:pointer}
button:disabled{background:#555}.help{color:#999;font-size:.85rem;text-align:center}
.msg{max-width:40rem;text-align:center;line-height:1.5;margin-top:20vh}`;

function page(title: string, nonce: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style nonce="${nonce}">${CSS}</style></head>
<body><main>${body}</main>${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`;
}

export interface RatingPageData {
  nonce: string;
  studyName: string;
  rater: string;
  token: string;
  position: number;
  imageId: string;
  answered: number;
  total: number;
  classes: readonly string[];
}

/** Diagnosis shortcuts: letters that do not clash with R (real) and S (synthetic). */
const DIAGNOSIS_KEYS = 'abcdefghijklm';

// Keyboard: R/S verdict, 1–5 confidence, a–h diagnosis, 0 clears it, Enter submits. One submit only.
const SCRIPT = `(()=>{const f=document.getElementById('answer');const b=f.querySelector('button');
const pick=(n,v)=>{const e=f.querySelector('input[name="'+n+'"][value="'+v+'"]');if(e){e.checked=true;ready();}};
const ready=()=>{b.disabled=!(f.verdict.value&&f.confidence.value);};
const dk=f.dataset.dx||'';
f.addEventListener('change',ready);
f.addEventListener('submit',(e)=>{if(b.dataset.sent){e.preventDefault();return;}b.dataset.sent='1';b.disabled=true;});
document.addEventListener('keydown',(e)=>{if(e.ctrlKey||e.metaKey||e.altKey)return;const k=e.key.toLowerCase();
if(k==='r')pick('verdict','real');else if(k==='s')pick('verdict','synthetic');
else if(k>='1'&&k<='5')pick('confidence',k);else if(k==='0')pick('diagnosis','');
else if(k==='enter'){e.preventDefault();if(!b.disabled)f.requestSubmit();}
else{const i=dk.indexOf(k);if(i>=0){const o=f.querySelectorAll('input[name="diagnosis"]')[i+1];if(o){o.checked=true;}}}});
ready();})();`;

export function ratingPage(d: RatingPageData): string {
  const base = `/r/${d.token}`;
  const radio = (name: string, value: string, label: string, key: string, cls = 'btn', attr = '') => {
    const id = `${name}-${value || 'none'}`;
    return `<input type="radio" name="${name}" id="${id}" value="${escapeHtml(value)}"${attr}><label class="${cls}" for="${id}">${escapeHtml(label)}<kbd>${escapeHtml(key)}</kbd></label>`;
  };
  const dx = DIAGNOSIS_KEYS.slice(0, d.classes.length);
  const body = `<header><span class="who">${escapeHtml(d.rater)}</span>
<progress id="progress" value="${d.answered}" max="${d.total}"></progress>
<span class="count">${d.answered + 1} / ${d.total}</span></header>
<div class="image"><img src="${base}/image/${d.imageId}" alt="Lesion image ${d.answered + 1}"></div>
<form id="answer" method="post" action="${base}/answer" data-dx="${dx}">
<input type="hidden" name="position" value="${d.position}">
<fieldset>${radio('verdict', 'real', 'Real', 'R', 'btn big', ' required')}${radio('verdict', 'synthetic', 'Synthetic', 'S', 'btn big', ' required')}</fieldset>
<fieldset><legend>Confidence</legend>${[1, 2, 3, 4, 5].map((c) => radio('confidence', String(c), String(c), String(c), 'btn', ' required')).join('')}</fieldset>
<fieldset><legend>Diagnosis (optional)</legend>${radio('diagnosis', '', '—', '0', 'btn', ' checked')}${d.classes.map((c, i) => radio('diagnosis', c, c, dx[i]!.toUpperCase())).join('')}</fieldset>
<button type="submit">Next <kbd>Enter</kbd></button>
</form>
<p class="help">Is this lesion image a real photograph or synthetic? Confidence: 1 = guessing, 5 = certain.
Your answers are saved as you go; close the page at any time and open your link again to continue.</p>`;
  return page(`${d.studyName}: image ${d.answered + 1} of ${d.total}`, d.nonce, body, SCRIPT);
}

export function donePage(nonce: string, rater: string, total: number): string {
  return page(
    'Thank you',
    nonce,
    `<div class="msg"><h1>Thank you, ${escapeHtml(rater)}</h1><p>All ${total} images are answered and saved. You can close this page.</p></div>`,
  );
}

export function messagePage(nonce: string, title: string, text: string): string {
  return page(title, nonce, `<div class="msg"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></div>`);
}
