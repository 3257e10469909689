/**
 * The demo tenant's directory and mail, the same on every run: a seeded PRNG picks senders,
 * subjects, bodies, folders and attachments, and every id is fixed (documented in README.md).
 * Everything is written through the service functions, so the usual events fire.
 */
import type { Core } from '../core.js';
import * as dir from './directory.js';
import * as items from './items.js';
import { bytesFor, newItemId } from './ids.js';
import { summarizeMime } from './mime.js';
import { snapshotFromSummary } from './messages.js';
import type { MessageRecord } from './model.js';
import { prng, type Rng } from './prng.js';

export const DEMO_DOMAIN = 'mailvault.demo';

/** [nickname, display name, job title]; user n has id c0ffee00-0001-4000-8000-0000000000nn. */
export const DEMO_USERS: Array<[string, string, string]> = [
  ['adele', 'Adele Vance', 'Retail Manager'],
  ['alex', 'Alex Wilber', 'Marketing Assistant'],
  ['diego', 'Diego Siciliani', 'HR Manager'],
  ['grady', 'Grady Archie', 'Designer'],
  ['isaiah', 'Isaiah Langer', 'Sales Rep'],
  ['johanna', 'Johanna Lorenz', 'Senior Engineer'],
  ['lee', 'Lee Gu', 'Director'],
  ['lidia', 'Lidia Holloway', 'Product Manager'],
  ['megan', 'Megan Bowen', 'Marketing Manager'],
  ['nestor', 'Nestor Wilke', 'Director of Operations'],
];

export const demoUserId = (n: number) => `c0ffee00-0001-4000-8000-${n.toString(16).padStart(12, '0')}`;
export const demoGroupId = (n: number) => `c0ffee00-0002-4000-8000-${n.toString(16).padStart(12, '0')}`;

export const DEMO_GROUPS: Array<{ n: number; displayName: string; nickname: string; description: string; members: string[] }> = [
  { n: 1, displayName: 'Sales and Marketing', nickname: 'salesandmarketing', description: 'Everyone who sells and tells', members: ['adele', 'alex', 'isaiah', 'megan'] },
  { n: 2, displayName: 'Engineering', nickname: 'engineering', description: 'Product and engineering', members: ['grady', 'johanna', 'lee', 'lidia'] },
];

export const DEMO_MESSAGES_PER_USER = 300;


const TOPICS = ['Q3 sales review', 'Mark 8 launch plan', 'Budget for the Contoso account', 'Team offsite in Seattle', 'New hire onboarding', 'Website refresh', 'Quarterly OKRs', 'Customer feedback from Fabrikam', 'Trade show booth', 'Pricing update', 'Security training', 'Holiday schedule', 'Design review: retail displays', 'Supplier contract renewal', 'Weekly status', 'Product roadmap', 'Expense reports', 'Press release draft', 'Inventory forecast', 'Partner webinar'];
const OPENERS = ['Hi all,', 'Hello,', 'Hi team,', 'Good morning,', 'Hey,', 'Dear colleagues,'];
const SENTENCES = [
  'Please find the latest numbers below and let me know if anything looks off.',
  'We agreed to move the deadline by one week so that legal can review the terms.',
  'The customer asked for a follow-up call early next week to go over the proposal.',
  'I have attached the current draft; comments are welcome until Friday.',
  'Revenue is up eight percent quarter over quarter, mostly from the retail channel.',
  'Could you confirm the headcount for the event so we can book the venue?',
  'The design team shared three options for the new packaging.',
  'Our biggest risk right now is the delay in the supplier shipments.',
  'Thanks to everyone who joined the workshop yesterday, the feedback was great.',
  'Let us keep the discussion in this thread so nothing gets lost.',
  'The dashboard now refreshes every hour instead of once a day.',
  'I will be out of office on Monday, Megan is covering for me.',
  'Marketing would like a short summary for the newsletter.',
  'Please update your tasks in the planner before the stand-up.',
  'We are still waiting for approval from finance on the second phase.',
];
const ATTACHMENTS = [
  { name: 'forecast.csv', type: 'text/csv', make: (r: Rng) => 'month,units,revenue\n' + Array.from({ length: 12 }, (_, i) => `${i + 1},${100 + r.int(900)},${1000 + r.int(9000)}`).join('\n') + '\n' },
  { name: 'agenda.txt', type: 'text/plain', make: (r: Rng) => Array.from({ length: 5 }, (_, i) => `${i + 1}. ${r.pick(TOPICS)}`).join('\n') + '\n' },
  { name: 'notes.md', type: 'text/markdown', make: (r: Rng) => `# Notes\n\n- ${r.pick(SENTENCES)}\n- ${r.pick(SENTENCES)}\n` },
];

const START = Date.parse('2026-06-01T08:00:00Z');
const SPAN_MS = 150 * 86_400_000;

function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

/** Seeds the demo tenant: users with mailboxes, groups, and DEMO_MESSAGES_PER_USER messages each. */
export async function seedDemoMail(core: Core, tenantId: string): Promise<void> {
  const r = prng(20240601);
  const people = DEMO_USERS.map(([nick, name, title], i) => ({ id: demoUserId(i + 1), nick, name, title, address: `${nick}@${DEMO_DOMAIN}` }));
  const external = ['Pat Smith <pat@fabrikam.example>', 'Contoso Billing <billing@contoso.example>', 'Northwind Traders <orders@northwind.example>', 'Newsletter <news@tailspin.example>'];

  for (const [ui, p] of people.entries()) {
    const folderBytes = (i: number) => bytesFor(`demo-folder-${ui + 1}-${i}`);
    const projectsId = newItemId('folder', bytesFor(`demo-folder-${ui + 1}-projects`));
    const records: Array<{ mime: Buffer; folder: string; id: string; read: boolean; draft: boolean; flagged: boolean; category: string | null }> = [];
    for (let k = 0; k < DEMO_MESSAGES_PER_USER; k++) {
      const roll = r.next();
      const folder = roll < 0.62 ? 'inbox' : roll < 0.8 ? 'sentitems' : roll < 0.9 ? 'archive' : roll < 0.94 ? 'projects' : roll < 0.98 ? 'deleteditems' : 'drafts';
      const other = people[(ui + 1 + r.int(people.length - 1)) % people.length];
      const outgoing = folder === 'sentitems' || folder === 'drafts';
      const from = outgoing ? `${p.name} <${p.address}>` : r.next() < 0.15 ? r.pick(external) : `${other.name} <${other.address}>`;
      const to = outgoing ? `${other.name} <${other.address}>` : `${p.name} <${p.address}>`;
      const cc = r.next() < 0.3 ? people[r.int(people.length)] : null;
      const topic = r.pick(TOPICS);
      const reply = r.next() < 0.3;
      const subject = (reply ? 'RE: ' : '') + topic;
      const date = START + Math.floor((k / DEMO_MESSAGES_PER_USER) * SPAN_MS) + r.int(3_600_000);
      const msgId = `<demo.${ui + 1}.${k}@${DEMO_DOMAIN}>`;
      const thread = `<thread.${TOPICS.indexOf(topic)}@${DEMO_DOMAIN}>`;
      const paragraphs = Array.from({ length: 2 + r.int(4) }, () => Array.from({ length: 2 + r.int(4) }, () => r.pick(SENTENCES)).join(' '));
      const text = `${r.pick(OPENERS)}\r\n\r\n${paragraphs.join('\r\n\r\n')}\r\n\r\n${outgoing ? p.name : from.replace(/ <.*/, '')}\r\n`;
      const html = `<html><body><p>${text.trim().split('\r\n\r\n').join('</p><p>').replace(/\r\n/g, '<br>')}</p></body></html>\r\n`;
      const attachment = r.next() < 0.12 ? r.pick(ATTACHMENTS) : null;
      const headers = [
        `From: ${from}`,
        `To: ${to}`,
        ...(cc ? [`Cc: ${cc.name} <${cc.address}>`] : []),
        `Subject: ${subject}`,
        `Date: ${rfc2822(date)}`,
        `Message-ID: ${msgId}`,
        ...(reply ? [`In-Reply-To: ${thread}`, `References: ${thread}`] : []),
        ...(r.next() < 0.05 ? ['Importance: High'] : []),
        'MIME-Version: 1.0',
      ];
      const alt = `----=_Alt_${ui}_${k}`;
      const altPart = [`Content-Type: multipart/alternative; boundary="${alt}"`, '', `--${alt}`, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', text, `--${alt}`, 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', html, `--${alt}--`, ''].join('\r\n');
      let mime: string;
      if (attachment) {
        const mixed = `----=_Mixed_${ui}_${k}`;
        const data = Buffer.from(attachment.make(r)).toString('base64').replace(/.{76}/g, '$&\r\n');
        mime = [...headers, `Content-Type: multipart/mixed; boundary="${mixed}"`, '', `--${mixed}`, altPart, `--${mixed}`, `Content-Type: ${attachment.type}; name="${attachment.name}"`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; filename="${attachment.name}"`, '', data, `--${mixed}--`, ''].join('\r\n');
      } else {
        mime = [...headers, altPart].join('\r\n');
      }
      records.push({
        mime: Buffer.from(mime),
        folder,
        id: newItemId('message', r.bytes(16)),
        read: outgoing || folder !== 'inbox' || r.next() < 0.7,
        draft: folder === 'drafts',
        flagged: r.next() < 0.05,
        category: r.next() < 0.08 ? r.pick(['Red category', 'Blue category', 'Green category']) : null,
      });
    }
    const summaries = await Promise.all(records.map((x) => summarizeMime(x.mime)));
    await core.store.write(async (trx) => {
      await dir.createUser(core, trx, tenantId, { id: p.id, userPrincipalName: p.address, displayName: p.name, givenName: p.name.split(' ')[0], surname: p.name.split(' ').slice(1).join(' '), jobTitle: p.title, extra: { mailNickname: p.nick, businessPhones: [`+1 425 555 01${String(ui).padStart(2, '0')}`], officeLocation: `${ui + 10}/${1100 + ui}`, preferredLanguage: 'en-US', usageLocation: 'US' } }, folderBytes);
      const folders = await items.listFolders(trx, tenantId, p.id);
      const wk = new Map(folders.map((f) => [f.wellKnownName as string, f.id]));
      await items.upsertFolders(core, trx, tenantId, p.id, [{ id: projectsId, displayName: 'Projects', parentFolderId: wk.get('inbox')!, wellKnownName: null, isHidden: false, createdDateTime: core.clock.now().toISOString() }]);
      wk.set('projects', projectsId);
      const now = core.clock.now().toISOString();
      const hashes = await items.putBlobs(trx, now, records.map((x) => x.mime));
      const messages: MessageRecord[] = records.map((x, i) => {
        const props = snapshotFromSummary(summaries[i], { id: x.id, now, isDraft: x.draft, isRead: x.read });
        if (x.flagged) props.flag = { flagStatus: 'flagged' };
        if (x.category) props.categories = [x.category];
        return { id: x.id, folderId: wk.get(x.folder)!, props, mimeSha256: hashes[i] };
      });
      await items.upsertMessages(core, trx, tenantId, p.id, messages);
    });
  }

  await core.store.write(async (trx) => {
    for (const g of DEMO_GROUPS) {
      await dir.createGroup(core, trx, tenantId, { id: demoGroupId(g.n), displayName: g.displayName, description: g.description, mailNickname: g.nickname, mailEnabled: true, securityEnabled: false, groupTypes: ['Unified'], mail: `${g.nickname}@${DEMO_DOMAIN}` });
      await dir.addMembers(core, trx, tenantId, demoGroupId(g.n), g.members.map((nick) => people.find((p) => p.nick === nick)!.id));
    }
  });
}
