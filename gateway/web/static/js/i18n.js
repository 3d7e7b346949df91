// Chinese and English. zh-CN when the browser prefers Chinese, else English; the choice is remembered.

const EN = {
  "app.title": "kefu-gateway",
  "signin.lead": "Sign in to answer WeCom and Official Account customers.",
  "signin.email": "Email",
  "signin.password": "Password",
  "signin.submit": "Sign in",
  "signin.failed": "Wrong email or password.",
  "signin.limited": "Too many attempts. Try again in {seconds} s.",
  "nav.back": "Back to the list",
  "nav.language": "Language",
  "nav.signOut": "Sign out",
  "list.heading": "Conversations",
  "list.mine": "Mine",
  "list.unassigned": "Unassigned",
  "list.all": "All",
  "list.search": "Search name or message",
  "list.status": "Status",
  "list.channel": "Channel",
  "list.inbox": "Inbox",
  "list.label": "Label",
  "list.sort": "Sort",
  "list.empty": "No conversations here.",
  "list.anyChannel": "All channels",
  "list.anyInbox": "All inboxes",
  "list.anyLabel": "All labels",
  "list.unreadTotal": "Unread conversations",
  "list.more": "Load more",
  "list.unassignedShort": "unassigned",
  "status.any": "Any status",
  "status.open": "Open",
  "status.pending": "Pending",
  "status.resolved": "Resolved",
  "sort.activity": "Last activity",
  "sort.waiting": "Waiting longest",
  "kind.wecom": "WeCom",
  "kind.mp": "Official Account",
  "thread.pick": "Pick a conversation.",
  "thread.older": "Loading older messages…",
  "thread.assignee": "Assigned to {name}",
  "thread.noAssignee": "Nobody assigned",
  "thread.waiting": "waiting since {time}",
  "action.assignMe": "Assign to me",
  "action.assignTo": "Assign to",
  "action.assignNobody": "Assign to…",
  "action.unassign": "Nobody",
  "action.queue": "To queue",
  "action.bot": "To bot",
  "action.resolve": "Resolve",
  "action.reopen": "Reopen",
  "action.done": "Done.",
  "composer.placeholder": "Reply… (Enter to send, Shift+Enter for a new line, / for canned responses)",
  "composer.notePlaceholder": "Private note, only your team sees it",
  "composer.label": "Reply",
  "composer.note": "Private note",
  "composer.attach": "Attach",
  "composer.send": "Send",
  "composer.sending": "Sending…",
  "composer.uploading": "Uploading {name}…",
  "policy.open": "Window closes in {hours} h · {left} replies left",
  "policy.openMinutes": "Window closes in {minutes} min · {left} replies left",
  "policy.window_closed": "The reply window is closed: {detail}",
  "policy.quota_exhausted": "No replies left until the customer writes again: {detail}",
  "policy.state_forbids_api": "Another servicer holds this conversation: {detail}",
  "policy.unknown": "Replying is not possible now: {detail}",
  "message.queued": "queued",
  "message.sending": "sending",
  "message.sent": "sent",
  "message.failed": "failed",
  "message.note": "Note by {name}",
  "message.voice": "Voice message",
  "message.download": "Download",
  "message.location": "Location",
  "message.miniprogram": "Mini program",
  "message.menu": "Menu",
  "message.pending": "Media is still being fetched…",
  "message.recalled": "recalled",
  "contact.heading": "Contact",
  "contact.identities": "Identities",
  "contact.fields": "CRM fields",
  "contact.labels": "Labels",
  "contact.previous": "Conversations",
  "contact.addLabel": "Add label",
  "contact.none": "None",
  "live.connected": "Live",
  "live.reconnecting": "Reconnecting…",
  "viewer.close": "Close",
  "help.title": "Keyboard shortcuts",
  "help.next": "Next conversation",
  "help.prev": "Previous conversation",
  "help.reply": "Write a reply",
  "help.resolve": "Resolve",
  "help.assign": "Assign to me",
  "help.search": "Search",
  "help.help": "This help",
  "error.generic": "Something went wrong: {message}",
  "time.now": "now",
};

const ZH = {
  "app.title": "客服网关",
  "signin.lead": "登录后即可回复企业微信和公众号的客户。",
  "signin.email": "邮箱",
  "signin.password": "密码",
  "signin.submit": "登录",
  "signin.failed": "邮箱或密码错误。",
  "signin.limited": "尝试次数过多，请 {seconds} 秒后再试。",
  "nav.back": "返回列表",
  "nav.language": "语言",
  "nav.signOut": "退出",
  "list.heading": "会话",
  "list.mine": "我的",
  "list.unassigned": "未分配",
  "list.all": "全部",
  "list.search": "搜索姓名或消息",
  "list.status": "状态",
  "list.channel": "渠道",
  "list.inbox": "客服账号",
  "list.label": "标签",
  "list.sort": "排序",
  "list.empty": "这里没有会话。",
  "list.anyChannel": "全部渠道",
  "list.anyInbox": "全部客服账号",
  "list.anyLabel": "全部标签",
  "list.unreadTotal": "未读会话",
  "list.more": "加载更多",
  "list.unassignedShort": "未分配",
  "status.any": "全部状态",
  "status.open": "进行中",
  "status.pending": "待处理",
  "status.resolved": "已结束",
  "sort.activity": "最近活动",
  "sort.waiting": "等待最久",
  "kind.wecom": "企业微信",
  "kind.mp": "公众号",
  "thread.pick": "请选择一个会话。",
  "thread.older": "正在加载更早的消息…",
  "thread.assignee": "接待人：{name}",
  "thread.noAssignee": "未分配",
  "thread.waiting": "自 {time} 起等待",
  "action.assignMe": "分配给我",
  "action.assignTo": "分配给",
  "action.assignNobody": "分配给…",
  "action.unassign": "不分配",
  "action.queue": "转入排队",
  "action.bot": "转给机器人",
  "action.resolve": "结束会话",
  "action.reopen": "重新打开",
  "action.done": "已完成。",
  "composer.placeholder": "回复…（Enter 发送，Shift+Enter 换行，输入 / 使用快捷回复）",
  "composer.notePlaceholder": "内部备注，仅团队可见",
  "composer.label": "回复",
  "composer.note": "内部备注",
  "composer.attach": "附件",
  "composer.send": "发送",
  "composer.sending": "发送中…",
  "composer.uploading": "正在上传 {name}…",
  "policy.open": "回复窗口还剩 {hours} 小时 · 还可回复 {left} 条",
  "policy.openMinutes": "回复窗口还剩 {minutes} 分钟 · 还可回复 {left} 条",
  "policy.window_closed": "回复窗口已关闭：{detail}",
  "policy.quota_exhausted": "客户再次发言前无法回复：{detail}",
  "policy.state_forbids_api": "会话由其他接待人员处理：{detail}",
  "policy.unknown": "当前无法回复：{detail}",
  "message.queued": "排队中",
  "message.sending": "发送中",
  "message.sent": "已发送",
  "message.failed": "发送失败",
  "message.note": "{name} 的备注",
  "message.voice": "语音消息",
  "message.download": "下载",
  "message.location": "位置",
  "message.miniprogram": "小程序",
  "message.menu": "菜单",
  "message.pending": "正在获取媒体文件…",
  "message.recalled": "已撤回",
  "contact.heading": "客户",
  "contact.identities": "身份",
  "contact.fields": "CRM 字段",
  "contact.labels": "标签",
  "contact.previous": "历史会话",
  "contact.addLabel": "添加标签",
  "contact.none": "无",
  "live.connected": "实时",
  "live.reconnecting": "正在重新连接…",
  "viewer.close": "关闭",
  "help.title": "快捷键",
  "help.next": "下一个会话",
  "help.prev": "上一个会话",
  "help.reply": "撰写回复",
  "help.resolve": "结束会话",
  "help.assign": "分配给我",
  "help.search": "搜索",
  "help.help": "显示帮助",
  "error.generic": "出错了：{message}",
  "time.now": "刚刚",
};

const TABLES = { en: EN, "zh-CN": ZH };
let current = "en";

export function pickLanguage() {
  const saved = localStorage.getItem("kefu.language");
  if (saved && TABLES[saved]) return saved;
  const wanted = navigator.languages || [navigator.language || "en"];
  for (const tag of wanted) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function setLanguage(language, { remember = false } = {}) {
  current = TABLES[language] ? language : "en";
  if (remember) localStorage.setItem("kefu.language", current);
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-label]")) el.setAttribute("aria-label", t(el.dataset.tLabel));
  for (const el of document.querySelectorAll("[data-t-placeholder]")) el.placeholder = t(el.dataset.tPlaceholder);
}

export function language() {
  return current;
}

export function t(key, vars = {}) {
  const text = TABLES[current][key] ?? EN[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  const options = sameDay ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return date.toLocaleString(current, options);
}
