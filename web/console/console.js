/*! Switchboard operator console. Served by the switchboard binary at / (index.html),
 * /console.css and /console.js; it loads nothing else from anywhere.
 *
 * Plain ES2020, no framework, no bundler, no dependency (like web/widget/widget.js). Sections:
 * texts (en, ru, uk) and error sentences; DOM helpers; the API (GraphQL over HTTP with the
 * in-memory access token, refreshed through the sb_refresh cookie, and a graphql-transport-ws
 * client); the router (hash routes); the screens: sign-in and the password links, the shell
 * (header, nav), the inbox and the conversation, reports, audit, admin, profile.
 *
 * Every visible text comes from TEXTS (keys are stable: browser tests assert them), and every
 * `extensions.code` the API answers becomes a sentence from ERRORS. Elements tests look for
 * carry `data-test`.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------
  // Texts
  // ---------------------------------------------------------------------------------------
  const TEXTS = {
    en: {
      "app.name": "Switchboard",
      "app.loading": "Loading…",
      "lang.en": "English", "lang.ru": "Русский", "lang.uk": "Українська",
      "field.email": "E-mail", "field.password": "Password", "field.passwordRepeat": "Repeat the password",
      "signIn.title": "Sign in to Switchboard", "signIn.submit": "Sign in", "signIn.forgot": "Forgot your password?",
      "signIn.busy": "Signing in…",
      "forgot.title": "Reset your password",
      "forgot.intro": "Enter the e-mail address of your account. We will send you a link to choose a new password.",
      "forgot.submit": "Send the link",
      "forgot.sent": "If an account uses this address, a link to reset the password is on its way. Check your e-mail.",
      "forgot.back": "Back to sign-in",
      "invitation.title": "Set your password",
      "invitation.intro": "Welcome to Switchboard! Choose a password to finish setting up your account.",
      "invitation.submit": "Set the password and sign in",
      "reset.title": "Choose a new password", "reset.intro": "Choose a new password for your account.",
      "reset.submit": "Save the password and sign in",
      "password.hint": "At least {n} characters.",
      "password.short": "The password must be at least {n} characters long.",
      "password.mismatch": "The passwords do not match.",
      "password.show": "Show the password",
      "link.missingToken": "This link is incomplete. Open the link from the e-mail again.",
      "session.signedOut": "You have signed out.",
      "session.signOutPending": "Signing out did not reach the server. This page is signed out, and we keep trying to end the session on the server: keep this page open until it says that you have signed out.",
      "header.signOut": "Sign out", "header.language": "Language", "header.status": "My status",
      "header.unread": "Unread messages: {n}", "header.menu": "Main menu", "header.skip": "Skip to content",
      "nav.inbox": "Inbox", "nav.reports": "Reports", "nav.audit": "Audit", "nav.admin": "Admin", "nav.profile": "Profile",
      "opStatus.ONLINE": "Online", "opStatus.AWAY": "Away", "opStatus.BUSY": "Busy", "opStatus.OFFLINE": "Offline",
      "role.ADMIN": "Admin", "role.MODERATOR": "Moderator", "role.MANAGER": "Manager", "role.ANALYST": "Analyst", "role.AUDITOR": "Auditor",
      "tab.MINE": "Mine", "tab.OPEN": "Open", "tab.CLOSED": "Closed", "tab.ALL": "All",
      "inbox.title": "Inbox", "inbox.tabs": "Conversation lists",
      "filter.search": "Search", "filter.searchPlaceholder": "Name, e-mail, phone or words from messages",
      "filter.status": "Status", "filter.anyStatus": "Any status",
      "filter.priority": "Priority", "filter.anyPriority": "Any priority",
      "filter.inbox": "Inbox", "filter.anyInbox": "All inboxes",
      "filter.assignee": "Assignee", "filter.anyAssignee": "Anyone",
      "filter.source": "Channel", "filter.anySource": "Any channel",
      "filter.tag": "Tag", "filter.tagPlaceholder": "tag",
      "filter.branch": "Branch", "filter.anyBranch": "Any branch", "filter.headOffice": "Head office",
      "filter.clear": "Clear filters", "filter.more": "Filters",
      "inbox.empty": "No conversations here.", "inbox.loadMore": "Load more", "inbox.loading": "Loading…",
      "inbox.visitor": "Visitor", "inbox.unassigned": "Unassigned", "inbox.noMessages": "No messages yet",
      "inbox.pick": "Pick a conversation from the list.", "inbox.unreadBadge": "{n} unread",
      "inbox.reconnecting": "Connection lost. Reconnecting…", "inbox.live": "Live",
      "inbox.attachment": "Attachment",
      "convStatus.OPEN": "Open", "convStatus.IN_PROGRESS": "In progress", "convStatus.WAITING_FOR_USER": "Waiting for the customer",
      "convStatus.PENDING_CALLBACK": "Call-back pending", "convStatus.RESOLVED": "Resolved", "convStatus.CLOSED": "Closed",
      "priority.LOW": "Low", "priority.MEDIUM": "Medium", "priority.HIGH": "High", "priority.URGENT": "Urgent",
      "source.WEB": "Website", "source.TELEGRAM": "Telegram", "source.CALLBACK": "Call-back", "source.API": "API",
      "statusTo.OPEN": "Reopen", "statusTo.IN_PROGRESS": "In progress", "statusTo.WAITING_FOR_USER": "Wait for the customer",
      "statusTo.PENDING_CALLBACK": "Await a call-back", "statusTo.RESOLVED": "Resolve", "statusTo.CLOSED": "Close",
      "conv.thread": "Conversation", "conv.history": "History", "conv.details": "Details", "conv.back": "Back to the list",
      "conv.notFound": "This conversation does not exist, or you may not see it.",
      "conv.loadingOlder": "Loading the thread…",
      "sender.you": "You", "sender.operator": "Operator", "sender.system": "System", "sender.bot": "Bot",
      "msg.note": "Internal note", "msg.autoReply": "Auto-reply", "msg.readByVisitor": "Read by the visitor",
      "msg.readByOperator": "Read", "msg.download": "Download {name}", "msg.openImage": "Open {name}",
      "msg.fileLoading": "Loading {name}…", "msg.fileFailed": "{name} could not be loaded.",
      "reply.label": "Reply", "reply.placeholder": "Write a reply. Enter sends, Shift+Enter starts a new line.",
      "reply.notePlaceholder": "Write an internal note: only operators see it.",
      "reply.send": "Send", "reply.addNote": "Add the note", "reply.noteToggle": "Internal note",
      "reply.attach": "Attach files", "reply.uploading": "Uploading {name}…", "reply.remove": "Remove {name}",
      "reply.noteNoFiles": "Notes cannot carry files.", "reply.closed": "The conversation is closed: reopen it to reply.",
      "typing.someone": "{name} is typing…",
      "action.take": "Take", "action.assign": "Assign to", "action.assignPick": "Choose an operator…",
      "action.unassign": "Return to the queue", "action.transfer": "Transfer", "action.transferPick": "Move to…",
      "action.transferBranch": "Branch {id} (queue)", "action.transferHeadOffice": "Head office (queue)",
      "action.statuses": "Status", "action.done": "Done.",
      "details.contact": "Contact", "details.name": "Name", "details.email": "E-mail", "details.phone": "Phone",
      "details.started": "Started", "details.channel": "Channel", "details.subject": "Subject", "details.inbox": "Inbox",
      "details.assignee": "Assignee", "details.priority": "Priority", "details.tags": "Tags",
      "details.addTag": "Add a tag", "details.addTagButton": "Add", "details.removeTag": "Remove the tag {tag}",
      "details.rating": "Rating", "details.reopened": "Reopened {n} times", "details.none": "—",
      "details.branch": "Branch", "details.headOffice": "Head office",
      "sla.title": "SLA", "sla.firstResponse": "First response", "sla.nextResponse": "Next response", "sla.resolution": "Resolution",
      "sla.dueIn": "due in {t}", "sla.overdue": "overdue by {t}", "sla.met": "met in {t}", "sla.metLate": "met, {t} late",
      "sla.breached": "Breached", "sla.none": "No SLA target for this conversation.", "sla.businessHours": "Counted in working hours only.",
      "sla.breaches": "Breaches: {n}",
      "cb.title": "Call-backs", "cb.none": "No call-back requests.", "cb.phone": "Phone", "cb.window": "Preferred time",
      "cb.requested": "Requested", "cb.scheduled": "Scheduled for", "cb.scheduleAt": "Call at", "cb.schedule": "Schedule",
      "cb.outcome": "Outcome", "cb.note": "Outcome note", "cb.record": "Record the outcome", "cb.settled": "Settled",
      "cbStatus.REQUESTED": "Requested", "cbStatus.SCHEDULED": "Scheduled", "cbStatus.COMPLETED": "Completed",
      "cbStatus.NO_ANSWER": "No answer", "cbStatus.CANCELLED": "Cancelled",
      "outcome.COMPLETED": "Completed", "outcome.NO_ANSWER": "No answer", "outcome.CANCELLED": "Cancelled",
      "history.title": "History", "history.empty": "No events recorded.", "history.loadMore": "Load more events",
      "history.position": "#{n}", "history.payload": "Payload", "history.metadata": "Metadata", "history.hash": "Hash",
      "history.actor": "By {actor}",
      "audit.title": "Audit", "audit.stream": "Stream id (a conversation, inbox, operator, endpoint or contact)",
      "audit.show": "Show events", "audit.from": "From position", "audit.to": "To position", "audit.range": "Events by position",
      "audit.streamHeading": "Events of a stream",
      "reports.title": "SLA report", "reports.from": "From", "reports.to": "To (inclusive)", "reports.inbox": "Inbox",
      "reports.allInboxes": "All inboxes", "reports.timeZone": "Time zone", "reports.show": "Show", "reports.export": "Export CSV",
      "reports.empty": "Nothing happened in this period.",
      "reports.conversations": "Conversations", "reports.backlog": "Open backlog", "reports.reopens": "Reopens",
      "reports.frp50": "First response p50", "reports.frp90": "First response p90",
      "reports.resp50": "Resolution p50", "reports.resp90": "Resolution p90",
      "reports.breaches": "Breaches", "reports.csat": "CSAT", "reports.nps": "NPS",
      "reports.chartFirst": "First response time by day", "reports.chartResolution": "Resolution time by day",
      "reports.chartBreaches": "SLA breaches by day", "reports.chartBacklog": "Open backlog by day",
      "reports.chartCsat": "CSAT (1–5) by day", "reports.chartNps": "NPS (−100…100) by day",
      "reports.day": "Day", "reports.noData": "no data",
      "admin.title": "Admin", "admin.inboxes": "Inboxes", "admin.operators": "Operators", "admin.webhooks": "Webhooks",
      "admin.newInbox": "New inbox", "admin.save": "Save", "admin.create": "Create", "admin.cancel": "Cancel", "admin.saved": "Saved.",
      "admin.active": "Active", "admin.inactive": "Switched off", "admin.activate": "Switch on", "admin.deactivateInbox": "Switch off",
      "admin.edit": "Edit", "admin.global": "Global", "admin.branch": "Branch",
      "inbox.f.title": "Title", "inbox.f.greeting": "Greeting", "inbox.f.color": "Colour", "inbox.f.rating": "Rating after a chat",
      "inbox.f.offlineMessage": "Message when nobody is online", "inbox.f.outsideHoursMessage": "Message outside working hours",
      "inbox.f.autoReply": "Auto-reply to the first message", "inbox.f.workingHours": "Working hours",
      "inbox.f.alwaysOpen": "Always open", "inbox.f.timeZone": "Time zone",
      "inbox.f.periodsHint": "Periods like 09:00-13:00, 14:00-18:00; empty: closed",
      "inbox.f.holidays": "Holidays (YYYY-MM-DD, comma-separated)",
      "inbox.f.routing": "Routing rules (one per line: REGION = branch id)", "inbox.f.defaultBranch": "Default branch id",
      "inbox.f.branchId": "Branch id (empty: global inbox; cannot change later)",
      "inbox.f.defaultCapacity": "Conversations per operator", "inbox.f.escalation": "Escalation timeout (seconds)",
      "inbox.f.maxAttachment": "Largest attachment (MiB)", "inbox.f.attachmentTypes": "File types",
      "inbox.f.inactivity": "Close idle conversations after (minutes; empty: the service's)",
      "inbox.f.inactivityCloses": "Which idle conversations close", "inbox.f.retention": "Close resolved conversations after (days; empty: the service's)",
      "inbox.f.sla": "SLA targets (minutes; empty: none)", "inbox.f.slaFirst": "First response", "inbox.f.slaNext": "Next response",
      "inbox.f.slaResolution": "Resolution", "inbox.f.businessHoursOnly": "Count working hours only",
      "inbox.f.allowedOrigins": "Sites allowed to use the widget (one per line; empty: any)",
      "inbox.f.requiredFields": "The pre-chat form asks for", "inbox.f.visitorIdentity": "Who may chat",
      "inbox.f.telegramIntake": "Take conversations started in Telegram (messenger)",
      "field.NAME": "Name", "field.EMAIL": "E-mail", "field.PHONE": "Phone",
      "rating.NONE": "No rating", "rating.CSAT": "CSAT (1–5)", "rating.NPS": "NPS (0–10)",
      "identity.OPTIONAL": "Anyone (verified users optional)", "identity.REQUIRED": "Only verified users of the site",
      "inactivity.WAITING_ON_CONTACT": "Only those waiting on the customer", "inactivity.ANY_IDLE": "Any idle conversation",
      "day.MON": "Mon", "day.TUE": "Tue", "day.WED": "Wed", "day.THU": "Thu", "day.FRI": "Fri", "day.SAT": "Sat", "day.SUN": "Sun",
      "inbox.snippet": "Widget code for your site", "inbox.snippetHint": "Paste it before </body> on every page. The token is shown only now: keep it.",
      "inbox.copy": "Copy", "inbox.copied": "Copied.", "inbox.rotateToken": "Issue a new widget token",
      "inbox.rotateConfirm": "The current widget token stops working at once. Continue?",
      "inbox.rotateSecret": "Issue a new identity secret", "inbox.secret": "Identity secret (shown once; keep it on your server)",
      "inbox.secretConfirm": "Hashes made with the current identity secret stop verifying. Continue?",
      "inbox.secretRotatedAt": "Identity secret issued: {when}", "inbox.noSecret": "No identity secret issued yet.",
      "op.invite": "Invite an operator", "op.inviteSend": "Send the invitation", "op.name": "Name", "op.email": "E-mail",
      "op.roles": "Roles", "op.branch": "Branch id (empty: head office)", "op.capacity": "Capacity (empty: the inbox's default)",
      "op.status": "Status", "op.load": "Load", "op.state": "Account", "op.activeYes": "Active", "op.deactivated": "Deactivated",
      "op.pending": "Invitation pending", "op.telegram": "Telegram linked", "op.deactivate": "Deactivate", "op.reactivate": "Reactivate",
      "op.deactivateConfirm": "Deactivate {name}? They are signed out and cannot sign in.", "op.invited": "Invitation sent to {email}.",
      "op.invitationLink": "Invitation link", "op.invitationLinkHint": "Send this link to {name} if the e-mail does not reach them; it works once, for 7 days.",
      "wh.inbox": "Inbox", "wh.endpoints": "Endpoints", "wh.none": "No endpoints.", "wh.url": "URL", "wh.events": "Events",
      "wh.register": "Register an endpoint", "wh.secret": "Signing secret (shown once)", "wh.enabled": "Enabled", "wh.disabled": "Disabled",
      "wh.enable": "Enable", "wh.disable": "Disable", "wh.rotate": "New signing secret", "wh.deliveries": "Deliveries",
      "wh.noDeliveries": "No deliveries.", "wh.redeliver": "Deliver again", "wh.attempts": "Attempts", "wh.anyStatus": "Any status",
      "wh.attempt": "Attempt {n}", "wh.duration": "{ms} ms", "wh.noStatus": "no answer", "wh.body": "Body", "wh.response": "Answer",
      "wh.nextAttempt": "Next attempt: {when}", "wh.rotateConfirm": "The current signing secret stops working at once. Continue?",
      "whStatus.PENDING": "Pending", "whStatus.DELIVERED": "Delivered", "whStatus.DEAD": "Failed",
      "profile.title": "Profile", "profile.notifications": "Desktop notifications",
      "profile.notifyIntro": "Get a notification and a sound when a customer writes in a conversation assigned to you.",
      "profile.enable": "Turn on notifications", "profile.enabled": "Notifications are on.", "profile.denied": "The browser blocks notifications for this site. Allow them in the site settings.",
      "profile.unsupported": "This browser has no desktop notifications.", "profile.disable": "Turn off notifications",
      "profile.sound": "Play a sound", "profile.test": "Try it",
      "profile.telegram": "Telegram", "profile.telegramIntro": "Link your Telegram account to get notified and answer from Telegram.",
      "profile.telegramLink": "Get a link code", "profile.telegramSteps": "Open our bot in Telegram and send it this message within {t}:",
      "profile.telegramLinked": "Your Telegram account is linked.", "profile.telegramUnlink": "Unlink Telegram",
      "profile.telegramExpires": "The code expires at {when}.",
      "notify.newMessage": "New message from {name}",
      "common.close": "Close", "common.yes": "Yes", "common.no": "No", "common.save": "Save", "common.retry": "Try again",
      "common.loading": "Loading…", "common.none": "None", "common.copy": "Copy", "common.refresh": "Refresh",
      "dur.s": "{n} s", "dur.m": "{n} min", "dur.h": "{n} h", "dur.d": "{n} d"
    },
    ru: {
      "app.name": "Switchboard",
      "app.loading": "Загрузка…",
      "lang.en": "English", "lang.ru": "Русский", "lang.uk": "Українська",
      "field.email": "E-mail", "field.password": "Пароль", "field.passwordRepeat": "Повторите пароль",
      "signIn.title": "Вход в Switchboard", "signIn.submit": "Войти", "signIn.forgot": "Забыли пароль?",
      "signIn.busy": "Входим…",
      "forgot.title": "Сброс пароля",
      "forgot.intro": "Укажите e-mail вашей учётной записи. Мы пришлём ссылку, чтобы задать новый пароль.",
      "forgot.submit": "Отправить ссылку",
      "forgot.sent": "Если этот адрес принадлежит учётной записи, ссылка для сброса пароля уже в пути. Проверьте почту.",
      "forgot.back": "Вернуться ко входу",
      "invitation.title": "Задайте пароль",
      "invitation.intro": "Добро пожаловать в Switchboard! Придумайте пароль, чтобы завершить настройку учётной записи.",
      "invitation.submit": "Задать пароль и войти",
      "reset.title": "Новый пароль", "reset.intro": "Придумайте новый пароль для вашей учётной записи.",
      "reset.submit": "Сохранить пароль и войти",
      "password.hint": "Не короче {n} символов.",
      "password.short": "Пароль должен быть не короче {n} символов.",
      "password.mismatch": "Пароли не совпадают.",
      "password.show": "Показать пароль",
      "link.missingToken": "Ссылка неполная. Откройте ссылку из письма ещё раз.",
      "session.signedOut": "Вы вышли из системы.",
      "session.signOutPending": "Выход не дошёл до сервера. На этой странице вы уже вышли, а завершить сеанс на сервере мы продолжаем пытаться: не закрывайте страницу, пока она не сообщит, что вы вышли.",
      "header.signOut": "Выйти", "header.language": "Язык", "header.status": "Мой статус",
      "header.unread": "Непрочитанных сообщений: {n}", "header.menu": "Главное меню", "header.skip": "Перейти к содержимому",
      "nav.inbox": "Входящие", "nav.reports": "Отчёты", "nav.audit": "Аудит", "nav.admin": "Администрирование", "nav.profile": "Профиль",
      "opStatus.ONLINE": "В сети", "opStatus.AWAY": "Отошёл", "opStatus.BUSY": "Занят", "opStatus.OFFLINE": "Не в сети",
      "role.ADMIN": "Администратор", "role.MODERATOR": "Модератор", "role.MANAGER": "Руководитель", "role.ANALYST": "Аналитик", "role.AUDITOR": "Аудитор",
      "tab.MINE": "Мои", "tab.OPEN": "Открытые", "tab.CLOSED": "Закрытые", "tab.ALL": "Все",
      "inbox.title": "Входящие", "inbox.tabs": "Списки обращений",
      "filter.search": "Поиск", "filter.searchPlaceholder": "Имя, e-mail, телефон или слова из сообщений",
      "filter.status": "Статус", "filter.anyStatus": "Любой статус",
      "filter.priority": "Приоритет", "filter.anyPriority": "Любой приоритет",
      "filter.inbox": "Канал обращений", "filter.anyInbox": "Все каналы",
      "filter.assignee": "Исполнитель", "filter.anyAssignee": "Любой",
      "filter.source": "Источник", "filter.anySource": "Любой источник",
      "filter.tag": "Тег", "filter.tagPlaceholder": "тег",
      "filter.branch": "Филиал", "filter.anyBranch": "Любой филиал", "filter.headOffice": "Головной офис",
      "filter.clear": "Сбросить фильтры", "filter.more": "Фильтры",
      "inbox.empty": "Здесь нет обращений.", "inbox.loadMore": "Загрузить ещё", "inbox.loading": "Загрузка…",
      "inbox.visitor": "Посетитель", "inbox.unassigned": "Не назначено", "inbox.noMessages": "Сообщений пока нет",
      "inbox.pick": "Выберите обращение в списке.", "inbox.unreadBadge": "непрочитанных: {n}",
      "inbox.reconnecting": "Связь потеряна. Переподключаемся…", "inbox.live": "Онлайн",
      "inbox.attachment": "Вложение",
      "convStatus.OPEN": "Открыто", "convStatus.IN_PROGRESS": "В работе", "convStatus.WAITING_FOR_USER": "Ждём клиента",
      "convStatus.PENDING_CALLBACK": "Ждёт звонка", "convStatus.RESOLVED": "Решено", "convStatus.CLOSED": "Закрыто",
      "priority.LOW": "Низкий", "priority.MEDIUM": "Средний", "priority.HIGH": "Высокий", "priority.URGENT": "Срочный",
      "source.WEB": "Сайт", "source.TELEGRAM": "Telegram", "source.CALLBACK": "Обратный звонок", "source.API": "API",
      "statusTo.OPEN": "Открыть снова", "statusTo.IN_PROGRESS": "В работу", "statusTo.WAITING_FOR_USER": "Ждать клиента",
      "statusTo.PENDING_CALLBACK": "Ждать звонка", "statusTo.RESOLVED": "Решить", "statusTo.CLOSED": "Закрыть",
      "conv.thread": "Переписка", "conv.history": "История", "conv.details": "Сведения", "conv.back": "К списку",
      "conv.notFound": "Такого обращения нет, или у вас нет к нему доступа.",
      "conv.loadingOlder": "Загружаем переписку…",
      "sender.you": "Вы", "sender.operator": "Оператор", "sender.system": "Система", "sender.bot": "Бот",
      "msg.note": "Внутренняя заметка", "msg.autoReply": "Автоответ", "msg.readByVisitor": "Прочитано посетителем",
      "msg.readByOperator": "Прочитано", "msg.download": "Скачать {name}", "msg.openImage": "Открыть {name}",
      "msg.fileLoading": "Загружается {name}…", "msg.fileFailed": "Не удалось загрузить {name}.",
      "reply.label": "Ответ", "reply.placeholder": "Напишите ответ. Enter — отправить, Shift+Enter — новая строка.",
      "reply.notePlaceholder": "Напишите внутреннюю заметку: её видят только операторы.",
      "reply.send": "Отправить", "reply.addNote": "Добавить заметку", "reply.noteToggle": "Внутренняя заметка",
      "reply.attach": "Прикрепить файлы", "reply.uploading": "Загружается {name}…", "reply.remove": "Убрать {name}",
      "reply.noteNoFiles": "К заметке нельзя прикрепить файлы.", "reply.closed": "Обращение закрыто: откройте его снова, чтобы ответить.",
      "typing.someone": "{name} печатает…",
      "action.take": "Взять себе", "action.assign": "Назначить", "action.assignPick": "Выберите оператора…",
      "action.unassign": "Вернуть в очередь", "action.transfer": "Передать", "action.transferPick": "Куда передать…",
      "action.transferBranch": "Филиал {id} (очередь)", "action.transferHeadOffice": "Головной офис (очередь)",
      "action.statuses": "Статус", "action.done": "Готово.",
      "details.contact": "Клиент", "details.name": "Имя", "details.email": "E-mail", "details.phone": "Телефон",
      "details.started": "Начато", "details.channel": "Источник", "details.subject": "Тема", "details.inbox": "Канал обращений",
      "details.assignee": "Исполнитель", "details.priority": "Приоритет", "details.tags": "Теги",
      "details.addTag": "Добавить тег", "details.addTagButton": "Добавить", "details.removeTag": "Убрать тег {tag}",
      "details.rating": "Оценка", "details.reopened": "Открывалось снова: {n}", "details.none": "—",
      "details.branch": "Филиал", "details.headOffice": "Головной офис",
      "sla.title": "SLA", "sla.firstResponse": "Первый ответ", "sla.nextResponse": "Следующий ответ", "sla.resolution": "Решение",
      "sla.dueIn": "осталось {t}", "sla.overdue": "просрочено на {t}", "sla.met": "выполнено за {t}", "sla.metLate": "выполнено с опозданием на {t}",
      "sla.breached": "Нарушено", "sla.none": "Для этого обращения нет целей SLA.", "sla.businessHours": "Считается только рабочее время.",
      "sla.breaches": "Нарушений: {n}",
      "cb.title": "Обратные звонки", "cb.none": "Запросов на звонок нет.", "cb.phone": "Телефон", "cb.window": "Удобное время",
      "cb.requested": "Запрошен", "cb.scheduled": "Назначен на", "cb.scheduleAt": "Позвонить", "cb.schedule": "Назначить",
      "cb.outcome": "Итог", "cb.note": "Заметка об итоге", "cb.record": "Записать итог", "cb.settled": "Завершён",
      "cbStatus.REQUESTED": "Запрошен", "cbStatus.SCHEDULED": "Назначен", "cbStatus.COMPLETED": "Состоялся",
      "cbStatus.NO_ANSWER": "Нет ответа", "cbStatus.CANCELLED": "Отменён",
      "outcome.COMPLETED": "Состоялся", "outcome.NO_ANSWER": "Нет ответа", "outcome.CANCELLED": "Отменён",
      "history.title": "История", "history.empty": "Событий нет.", "history.loadMore": "Загрузить ещё события",
      "history.position": "№{n}", "history.payload": "Данные", "history.metadata": "Метаданные", "history.hash": "Хеш",
      "history.actor": "Кто: {actor}",
      "audit.title": "Аудит", "audit.stream": "Id потока (обращение, канал, оператор, вебхук или клиент)",
      "audit.show": "Показать события", "audit.from": "С позиции", "audit.to": "По позицию", "audit.range": "События по позициям",
      "audit.streamHeading": "События потока",
      "reports.title": "Отчёт SLA", "reports.from": "С", "reports.to": "По (включительно)", "reports.inbox": "Канал обращений",
      "reports.allInboxes": "Все каналы", "reports.timeZone": "Часовой пояс", "reports.show": "Показать", "reports.export": "Выгрузить CSV",
      "reports.empty": "За этот период ничего не было.",
      "reports.conversations": "Обращения", "reports.backlog": "Открытые", "reports.reopens": "Повторные открытия",
      "reports.frp50": "Первый ответ p50", "reports.frp90": "Первый ответ p90",
      "reports.resp50": "Решение p50", "reports.resp90": "Решение p90",
      "reports.breaches": "Нарушения", "reports.csat": "CSAT", "reports.nps": "NPS",
      "reports.chartFirst": "Время первого ответа по дням", "reports.chartResolution": "Время решения по дням",
      "reports.chartBreaches": "Нарушения SLA по дням", "reports.chartBacklog": "Открытые обращения по дням",
      "reports.chartCsat": "CSAT (1–5) по дням", "reports.chartNps": "NPS (−100…100) по дням",
      "reports.day": "День", "reports.noData": "нет данных",
      "admin.title": "Администрирование", "admin.inboxes": "Каналы обращений", "admin.operators": "Операторы", "admin.webhooks": "Вебхуки",
      "admin.newInbox": "Новый канал", "admin.save": "Сохранить", "admin.create": "Создать", "admin.cancel": "Отмена", "admin.saved": "Сохранено.",
      "admin.active": "Включён", "admin.inactive": "Выключен", "admin.activate": "Включить", "admin.deactivateInbox": "Выключить",
      "admin.edit": "Изменить", "admin.global": "Общий", "admin.branch": "Филиал",
      "inbox.f.title": "Название", "inbox.f.greeting": "Приветствие", "inbox.f.color": "Цвет", "inbox.f.rating": "Оценка после чата",
      "inbox.f.offlineMessage": "Сообщение, когда никого нет в сети", "inbox.f.outsideHoursMessage": "Сообщение в нерабочее время",
      "inbox.f.autoReply": "Автоответ на первое сообщение", "inbox.f.workingHours": "Рабочие часы",
      "inbox.f.alwaysOpen": "Круглосуточно", "inbox.f.timeZone": "Часовой пояс",
      "inbox.f.periodsHint": "Периоды, например 09:00-13:00, 14:00-18:00; пусто — выходной",
      "inbox.f.holidays": "Праздники (ГГГГ-ММ-ДД через запятую)",
      "inbox.f.routing": "Правила маршрутизации (по одному в строке: РЕГИОН = id филиала)", "inbox.f.defaultBranch": "Филиал по умолчанию (id)",
      "inbox.f.branchId": "Id филиала (пусто — общий канал; изменить потом нельзя)",
      "inbox.f.defaultCapacity": "Обращений на оператора", "inbox.f.escalation": "Время до эскалации (секунды)",
      "inbox.f.maxAttachment": "Наибольшее вложение (МиБ)", "inbox.f.attachmentTypes": "Типы файлов",
      "inbox.f.inactivity": "Закрывать неактивные обращения через (минуты; пусто — как в сервисе)",
      "inbox.f.inactivityCloses": "Какие неактивные обращения закрывать", "inbox.f.retention": "Закрывать решённые через (дни; пусто — как в сервисе)",
      "inbox.f.sla": "Цели SLA (минуты; пусто — нет)", "inbox.f.slaFirst": "Первый ответ", "inbox.f.slaNext": "Следующий ответ",
      "inbox.f.slaResolution": "Решение", "inbox.f.businessHoursOnly": "Считать только рабочее время",
      "inbox.f.allowedOrigins": "Сайты, где разрешён виджет (по одному в строке; пусто — любые)",
      "inbox.f.requiredFields": "Форма перед чатом спрашивает", "inbox.f.visitorIdentity": "Кто может писать",
      "inbox.f.telegramIntake": "Принимать обращения из Telegram (мессенджер)",
      "field.NAME": "Имя", "field.EMAIL": "E-mail", "field.PHONE": "Телефон",
      "rating.NONE": "Без оценки", "rating.CSAT": "CSAT (1–5)", "rating.NPS": "NPS (0–10)",
      "identity.OPTIONAL": "Любой посетитель", "identity.REQUIRED": "Только подтверждённые пользователи сайта",
      "inactivity.WAITING_ON_CONTACT": "Только ожидающие клиента", "inactivity.ANY_IDLE": "Любые неактивные",
      "day.MON": "Пн", "day.TUE": "Вт", "day.WED": "Ср", "day.THU": "Чт", "day.FRI": "Пт", "day.SAT": "Сб", "day.SUN": "Вс",
      "inbox.snippet": "Код виджета для вашего сайта", "inbox.snippetHint": "Вставьте его перед </body> на каждой странице. Токен показывается только сейчас: сохраните его.",
      "inbox.copy": "Копировать", "inbox.copied": "Скопировано.", "inbox.rotateToken": "Выпустить новый токен виджета",
      "inbox.rotateConfirm": "Текущий токен виджета сразу перестанет работать. Продолжить?",
      "inbox.rotateSecret": "Выпустить новый секрет подтверждения", "inbox.secret": "Секрет подтверждения (показывается один раз; храните на сервере)",
      "inbox.secretConfirm": "Подписи, сделанные текущим секретом, перестанут проходить проверку. Продолжить?",
      "inbox.secretRotatedAt": "Секрет выпущен: {when}", "inbox.noSecret": "Секрет подтверждения ещё не выпущен.",
      "op.invite": "Пригласить оператора", "op.inviteSend": "Отправить приглашение", "op.name": "Имя", "op.email": "E-mail",
      "op.roles": "Роли", "op.branch": "Id филиала (пусто — головной офис)", "op.capacity": "Лимит обращений (пусто — как в канале)",
      "op.status": "Статус", "op.load": "Нагрузка", "op.state": "Учётная запись", "op.activeYes": "Активна", "op.deactivated": "Отключена",
      "op.pending": "Приглашение не принято", "op.telegram": "Telegram привязан", "op.deactivate": "Отключить", "op.reactivate": "Включить снова",
      "op.deactivateConfirm": "Отключить {name}? Сеанс завершится, войти будет нельзя.", "op.invited": "Приглашение отправлено на {email}.",
      "op.invitationLink": "Ссылка-приглашение", "op.invitationLinkHint": "Отправьте эту ссылку получателю ({name}), если письмо не дойдёт; она сработает один раз, в течение 7 дней.",
      "wh.inbox": "Канал обращений", "wh.endpoints": "Адреса", "wh.none": "Адресов нет.", "wh.url": "URL", "wh.events": "События",
      "wh.register": "Добавить адрес", "wh.secret": "Секрет подписи (показывается один раз)", "wh.enabled": "Включён", "wh.disabled": "Выключен",
      "wh.enable": "Включить", "wh.disable": "Выключить", "wh.rotate": "Новый секрет подписи", "wh.deliveries": "Доставки",
      "wh.noDeliveries": "Доставок нет.", "wh.redeliver": "Доставить снова", "wh.attempts": "Попытки", "wh.anyStatus": "Любой статус",
      "wh.attempt": "Попытка {n}", "wh.duration": "{ms} мс", "wh.noStatus": "нет ответа", "wh.body": "Тело", "wh.response": "Ответ",
      "wh.nextAttempt": "Следующая попытка: {when}", "wh.rotateConfirm": "Текущий секрет подписи сразу перестанет работать. Продолжить?",
      "whStatus.PENDING": "Ожидает", "whStatus.DELIVERED": "Доставлено", "whStatus.DEAD": "Не доставлено",
      "profile.title": "Профиль", "profile.notifications": "Уведомления на рабочем столе",
      "profile.notifyIntro": "Уведомление и звук, когда клиент пишет в обращении, назначенном вам.",
      "profile.enable": "Включить уведомления", "profile.enabled": "Уведомления включены.", "profile.denied": "Браузер запрещает уведомления для этого сайта. Разрешите их в настройках сайта.",
      "profile.unsupported": "Этот браузер не поддерживает уведомления.", "profile.disable": "Выключить уведомления",
      "profile.sound": "Звуковой сигнал", "profile.test": "Проверить",
      "profile.telegram": "Telegram", "profile.telegramIntro": "Привяжите Telegram, чтобы получать уведомления и отвечать из Telegram.",
      "profile.telegramLink": "Получить код привязки", "profile.telegramSteps": "Откройте нашего бота в Telegram и в течение {t} отправьте ему сообщение:",
      "profile.telegramLinked": "Ваш Telegram привязан.", "profile.telegramUnlink": "Отвязать Telegram",
      "profile.telegramExpires": "Код действует до {when}.",
      "notify.newMessage": "Новое сообщение: {name}",
      "common.close": "Закрыть", "common.yes": "Да", "common.no": "Нет", "common.save": "Сохранить", "common.retry": "Повторить",
      "common.loading": "Загрузка…", "common.none": "Нет", "common.copy": "Копировать", "common.refresh": "Обновить",
      "dur.s": "{n} с", "dur.m": "{n} мин", "dur.h": "{n} ч", "dur.d": "{n} д"
    },
    uk: {
      "app.name": "Switchboard",
      "app.loading": "Завантаження…",
      "lang.en": "English", "lang.ru": "Русский", "lang.uk": "Українська",
      "field.email": "E-mail", "field.password": "Пароль", "field.passwordRepeat": "Повторіть пароль",
      "signIn.title": "Вхід до Switchboard", "signIn.submit": "Увійти", "signIn.forgot": "Забули пароль?",
      "signIn.busy": "Входимо…",
      "forgot.title": "Скидання пароля",
      "forgot.intro": "Вкажіть e-mail вашого облікового запису. Ми надішлемо посилання, щоб задати новий пароль.",
      "forgot.submit": "Надіслати посилання",
      "forgot.sent": "Якщо ця адреса належить обліковому запису, посилання для скидання пароля вже в дорозі. Перевірте пошту.",
      "forgot.back": "Повернутися до входу",
      "invitation.title": "Задайте пароль",
      "invitation.intro": "Вітаємо у Switchboard! Придумайте пароль, щоб завершити налаштування облікового запису.",
      "invitation.submit": "Задати пароль і увійти",
      "reset.title": "Новий пароль", "reset.intro": "Придумайте новий пароль для вашого облікового запису.",
      "reset.submit": "Зберегти пароль і увійти",
      "password.hint": "Не коротше {n} символів.",
      "password.short": "Пароль має бути не коротшим за {n} символів.",
      "password.mismatch": "Паролі не збігаються.",
      "password.show": "Показати пароль",
      "link.missingToken": "Посилання неповне. Відкрийте посилання з листа ще раз.",
      "session.signedOut": "Ви вийшли з системи.",
      "session.signOutPending": "Вихід не дійшов до сервера. На цій сторінці ви вже вийшли, а завершити сеанс на сервері ми продовжуємо намагатися: не закривайте сторінку, доки вона не повідомить, що ви вийшли.",
      "header.signOut": "Вийти", "header.language": "Мова", "header.status": "Мій статус",
      "header.unread": "Непрочитаних повідомлень: {n}", "header.menu": "Головне меню", "header.skip": "Перейти до вмісту",
      "nav.inbox": "Вхідні", "nav.reports": "Звіти", "nav.audit": "Аудит", "nav.admin": "Адміністрування", "nav.profile": "Профіль",
      "opStatus.ONLINE": "У мережі", "opStatus.AWAY": "Відійшов", "opStatus.BUSY": "Зайнятий", "opStatus.OFFLINE": "Не в мережі",
      "role.ADMIN": "Адміністратор", "role.MODERATOR": "Модератор", "role.MANAGER": "Керівник", "role.ANALYST": "Аналітик", "role.AUDITOR": "Аудитор",
      "tab.MINE": "Мої", "tab.OPEN": "Відкриті", "tab.CLOSED": "Закриті", "tab.ALL": "Усі",
      "inbox.title": "Вхідні", "inbox.tabs": "Списки звернень",
      "filter.search": "Пошук", "filter.searchPlaceholder": "Ім'я, e-mail, телефон або слова з повідомлень",
      "filter.status": "Статус", "filter.anyStatus": "Будь-який статус",
      "filter.priority": "Пріоритет", "filter.anyPriority": "Будь-який пріоритет",
      "filter.inbox": "Канал звернень", "filter.anyInbox": "Усі канали",
      "filter.assignee": "Виконавець", "filter.anyAssignee": "Будь-хто",
      "filter.source": "Джерело", "filter.anySource": "Будь-яке джерело",
      "filter.tag": "Тег", "filter.tagPlaceholder": "тег",
      "filter.branch": "Філія", "filter.anyBranch": "Будь-яка філія", "filter.headOffice": "Головний офіс",
      "filter.clear": "Скинути фільтри", "filter.more": "Фільтри",
      "inbox.empty": "Тут немає звернень.", "inbox.loadMore": "Завантажити ще", "inbox.loading": "Завантаження…",
      "inbox.visitor": "Відвідувач", "inbox.unassigned": "Не призначено", "inbox.noMessages": "Повідомлень поки немає",
      "inbox.pick": "Оберіть звернення у списку.", "inbox.unreadBadge": "непрочитаних: {n}",
      "inbox.reconnecting": "Зв'язок втрачено. Перепідключаємося…", "inbox.live": "Онлайн",
      "inbox.attachment": "Вкладення",
      "convStatus.OPEN": "Відкрито", "convStatus.IN_PROGRESS": "У роботі", "convStatus.WAITING_FOR_USER": "Чекаємо клієнта",
      "convStatus.PENDING_CALLBACK": "Чекає дзвінка", "convStatus.RESOLVED": "Вирішено", "convStatus.CLOSED": "Закрито",
      "priority.LOW": "Низький", "priority.MEDIUM": "Середній", "priority.HIGH": "Високий", "priority.URGENT": "Терміновий",
      "source.WEB": "Сайт", "source.TELEGRAM": "Telegram", "source.CALLBACK": "Зворотний дзвінок", "source.API": "API",
      "statusTo.OPEN": "Відкрити знову", "statusTo.IN_PROGRESS": "У роботу", "statusTo.WAITING_FOR_USER": "Чекати клієнта",
      "statusTo.PENDING_CALLBACK": "Чекати дзвінка", "statusTo.RESOLVED": "Вирішити", "statusTo.CLOSED": "Закрити",
      "conv.thread": "Листування", "conv.history": "Історія", "conv.details": "Відомості", "conv.back": "До списку",
      "conv.notFound": "Такого звернення немає, або у вас немає до нього доступу.",
      "conv.loadingOlder": "Завантажуємо листування…",
      "sender.you": "Ви", "sender.operator": "Оператор", "sender.system": "Система", "sender.bot": "Бот",
      "msg.note": "Внутрішня нотатка", "msg.autoReply": "Автовідповідь", "msg.readByVisitor": "Прочитано відвідувачем",
      "msg.readByOperator": "Прочитано", "msg.download": "Завантажити {name}", "msg.openImage": "Відкрити {name}",
      "msg.fileLoading": "Завантажується {name}…", "msg.fileFailed": "Не вдалося завантажити {name}.",
      "reply.label": "Відповідь", "reply.placeholder": "Напишіть відповідь. Enter — надіслати, Shift+Enter — новий рядок.",
      "reply.notePlaceholder": "Напишіть внутрішню нотатку: її бачать лише оператори.",
      "reply.send": "Надіслати", "reply.addNote": "Додати нотатку", "reply.noteToggle": "Внутрішня нотатка",
      "reply.attach": "Додати файли", "reply.uploading": "Завантажується {name}…", "reply.remove": "Прибрати {name}",
      "reply.noteNoFiles": "До нотатки не можна додати файли.", "reply.closed": "Звернення закрито: відкрийте його знову, щоб відповісти.",
      "typing.someone": "{name} друкує…",
      "action.take": "Взяти собі", "action.assign": "Призначити", "action.assignPick": "Оберіть оператора…",
      "action.unassign": "Повернути в чергу", "action.transfer": "Передати", "action.transferPick": "Куди передати…",
      "action.transferBranch": "Філія {id} (черга)", "action.transferHeadOffice": "Головний офіс (черга)",
      "action.statuses": "Статус", "action.done": "Готово.",
      "details.contact": "Клієнт", "details.name": "Ім'я", "details.email": "E-mail", "details.phone": "Телефон",
      "details.started": "Розпочато", "details.channel": "Джерело", "details.subject": "Тема", "details.inbox": "Канал звернень",
      "details.assignee": "Виконавець", "details.priority": "Пріоритет", "details.tags": "Теги",
      "details.addTag": "Додати тег", "details.addTagButton": "Додати", "details.removeTag": "Прибрати тег {tag}",
      "details.rating": "Оцінка", "details.reopened": "Відкривалося знову: {n}", "details.none": "—",
      "details.branch": "Філія", "details.headOffice": "Головний офіс",
      "sla.title": "SLA", "sla.firstResponse": "Перша відповідь", "sla.nextResponse": "Наступна відповідь", "sla.resolution": "Вирішення",
      "sla.dueIn": "залишилось {t}", "sla.overdue": "прострочено на {t}", "sla.met": "виконано за {t}", "sla.metLate": "виконано із запізненням на {t}",
      "sla.breached": "Порушено", "sla.none": "Для цього звернення немає цілей SLA.", "sla.businessHours": "Рахується лише робочий час.",
      "sla.breaches": "Порушень: {n}",
      "cb.title": "Зворотні дзвінки", "cb.none": "Запитів на дзвінок немає.", "cb.phone": "Телефон", "cb.window": "Зручний час",
      "cb.requested": "Запитано", "cb.scheduled": "Призначено на", "cb.scheduleAt": "Зателефонувати", "cb.schedule": "Призначити",
      "cb.outcome": "Підсумок", "cb.note": "Нотатка про підсумок", "cb.record": "Записати підсумок", "cb.settled": "Завершено",
      "cbStatus.REQUESTED": "Запитано", "cbStatus.SCHEDULED": "Призначено", "cbStatus.COMPLETED": "Відбувся",
      "cbStatus.NO_ANSWER": "Немає відповіді", "cbStatus.CANCELLED": "Скасовано",
      "outcome.COMPLETED": "Відбувся", "outcome.NO_ANSWER": "Немає відповіді", "outcome.CANCELLED": "Скасовано",
      "history.title": "Історія", "history.empty": "Подій немає.", "history.loadMore": "Завантажити ще події",
      "history.position": "№{n}", "history.payload": "Дані", "history.metadata": "Метадані", "history.hash": "Геш",
      "history.actor": "Хто: {actor}",
      "audit.title": "Аудит", "audit.stream": "Id потоку (звернення, канал, оператор, вебхук або клієнт)",
      "audit.show": "Показати події", "audit.from": "З позиції", "audit.to": "До позиції", "audit.range": "Події за позиціями",
      "audit.streamHeading": "Події потоку",
      "reports.title": "Звіт SLA", "reports.from": "З", "reports.to": "До (включно)", "reports.inbox": "Канал звернень",
      "reports.allInboxes": "Усі канали", "reports.timeZone": "Часовий пояс", "reports.show": "Показати", "reports.export": "Вивантажити CSV",
      "reports.empty": "За цей період нічого не було.",
      "reports.conversations": "Звернення", "reports.backlog": "Відкриті", "reports.reopens": "Повторні відкриття",
      "reports.frp50": "Перша відповідь p50", "reports.frp90": "Перша відповідь p90",
      "reports.resp50": "Вирішення p50", "reports.resp90": "Вирішення p90",
      "reports.breaches": "Порушення", "reports.csat": "CSAT", "reports.nps": "NPS",
      "reports.chartFirst": "Час першої відповіді за днями", "reports.chartResolution": "Час вирішення за днями",
      "reports.chartBreaches": "Порушення SLA за днями", "reports.chartBacklog": "Відкриті звернення за днями",
      "reports.chartCsat": "CSAT (1–5) за днями", "reports.chartNps": "NPS (−100…100) за днями",
      "reports.day": "День", "reports.noData": "немає даних",
      "admin.title": "Адміністрування", "admin.inboxes": "Канали звернень", "admin.operators": "Оператори", "admin.webhooks": "Вебхуки",
      "admin.newInbox": "Новий канал", "admin.save": "Зберегти", "admin.create": "Створити", "admin.cancel": "Скасувати", "admin.saved": "Збережено.",
      "admin.active": "Увімкнено", "admin.inactive": "Вимкнено", "admin.activate": "Увімкнути", "admin.deactivateInbox": "Вимкнути",
      "admin.edit": "Змінити", "admin.global": "Загальний", "admin.branch": "Філія",
      "inbox.f.title": "Назва", "inbox.f.greeting": "Привітання", "inbox.f.color": "Колір", "inbox.f.rating": "Оцінка після чату",
      "inbox.f.offlineMessage": "Повідомлення, коли нікого немає в мережі", "inbox.f.outsideHoursMessage": "Повідомлення в неробочий час",
      "inbox.f.autoReply": "Автовідповідь на перше повідомлення", "inbox.f.workingHours": "Робочі години",
      "inbox.f.alwaysOpen": "Цілодобово", "inbox.f.timeZone": "Часовий пояс",
      "inbox.f.periodsHint": "Періоди, наприклад 09:00-13:00, 14:00-18:00; порожньо — вихідний",
      "inbox.f.holidays": "Свята (РРРР-ММ-ДД через кому)",
      "inbox.f.routing": "Правила маршрутизації (по одному в рядку: РЕГІОН = id філії)", "inbox.f.defaultBranch": "Філія за замовчуванням (id)",
      "inbox.f.branchId": "Id філії (порожньо — загальний канал; змінити потім не можна)",
      "inbox.f.defaultCapacity": "Звернень на оператора", "inbox.f.escalation": "Час до ескалації (секунди)",
      "inbox.f.maxAttachment": "Найбільше вкладення (МіБ)", "inbox.f.attachmentTypes": "Типи файлів",
      "inbox.f.inactivity": "Закривати неактивні звернення через (хвилини; порожньо — як у сервісі)",
      "inbox.f.inactivityCloses": "Які неактивні звернення закривати", "inbox.f.retention": "Закривати вирішені через (дні; порожньо — як у сервісі)",
      "inbox.f.sla": "Цілі SLA (хвилини; порожньо — немає)", "inbox.f.slaFirst": "Перша відповідь", "inbox.f.slaNext": "Наступна відповідь",
      "inbox.f.slaResolution": "Вирішення", "inbox.f.businessHoursOnly": "Рахувати лише робочий час",
      "inbox.f.allowedOrigins": "Сайти, де дозволено віджет (по одному в рядку; порожньо — будь-які)",
      "inbox.f.requiredFields": "Форма перед чатом запитує", "inbox.f.visitorIdentity": "Хто може писати",
      "inbox.f.telegramIntake": "Приймати звернення з Telegram (месенджер)",
      "field.NAME": "Ім'я", "field.EMAIL": "E-mail", "field.PHONE": "Телефон",
      "rating.NONE": "Без оцінки", "rating.CSAT": "CSAT (1–5)", "rating.NPS": "NPS (0–10)",
      "identity.OPTIONAL": "Будь-який відвідувач", "identity.REQUIRED": "Лише підтверджені користувачі сайту",
      "inactivity.WAITING_ON_CONTACT": "Лише ті, що чекають на клієнта", "inactivity.ANY_IDLE": "Будь-які неактивні",
      "day.MON": "Пн", "day.TUE": "Вт", "day.WED": "Ср", "day.THU": "Чт", "day.FRI": "Пт", "day.SAT": "Сб", "day.SUN": "Нд",
      "inbox.snippet": "Код віджета для вашого сайту", "inbox.snippetHint": "Вставте його перед </body> на кожній сторінці. Токен показується лише зараз: збережіть його.",
      "inbox.copy": "Копіювати", "inbox.copied": "Скопійовано.", "inbox.rotateToken": "Випустити новий токен віджета",
      "inbox.rotateConfirm": "Поточний токен віджета одразу перестане працювати. Продовжити?",
      "inbox.rotateSecret": "Випустити новий секрет підтвердження", "inbox.secret": "Секрет підтвердження (показується один раз; зберігайте на сервері)",
      "inbox.secretConfirm": "Підписи, зроблені поточним секретом, перестануть проходити перевірку. Продовжити?",
      "inbox.secretRotatedAt": "Секрет випущено: {when}", "inbox.noSecret": "Секрет підтвердження ще не випущено.",
      "op.invite": "Запросити оператора", "op.inviteSend": "Надіслати запрошення", "op.name": "Ім'я", "op.email": "E-mail",
      "op.roles": "Ролі", "op.branch": "Id філії (порожньо — головний офіс)", "op.capacity": "Ліміт звернень (порожньо — як у каналі)",
      "op.status": "Статус", "op.load": "Навантаження", "op.state": "Обліковий запис", "op.activeYes": "Активний", "op.deactivated": "Вимкнено",
      "op.pending": "Запрошення не прийнято", "op.telegram": "Telegram прив'язано", "op.deactivate": "Вимкнути", "op.reactivate": "Увімкнути знову",
      "op.deactivateConfirm": "Вимкнути {name}? Сеанс завершиться, увійти буде не можна.", "op.invited": "Запрошення надіслано на {email}.",
      "op.invitationLink": "Посилання-запрошення", "op.invitationLinkHint": "Надішліть це посилання отримувачу ({name}), якщо лист не дійде; воно спрацює один раз, протягом 7 днів.",
      "wh.inbox": "Канал звернень", "wh.endpoints": "Адреси", "wh.none": "Адрес немає.", "wh.url": "URL", "wh.events": "Події",
      "wh.register": "Додати адресу", "wh.secret": "Секрет підпису (показується один раз)", "wh.enabled": "Увімкнено", "wh.disabled": "Вимкнено",
      "wh.enable": "Увімкнути", "wh.disable": "Вимкнути", "wh.rotate": "Новий секрет підпису", "wh.deliveries": "Доставки",
      "wh.noDeliveries": "Доставок немає.", "wh.redeliver": "Доставити знову", "wh.attempts": "Спроби", "wh.anyStatus": "Будь-який статус",
      "wh.attempt": "Спроба {n}", "wh.duration": "{ms} мс", "wh.noStatus": "немає відповіді", "wh.body": "Тіло", "wh.response": "Відповідь",
      "wh.nextAttempt": "Наступна спроба: {when}", "wh.rotateConfirm": "Поточний секрет підпису одразу перестане працювати. Продовжити?",
      "whStatus.PENDING": "Очікує", "whStatus.DELIVERED": "Доставлено", "whStatus.DEAD": "Не доставлено",
      "profile.title": "Профіль", "profile.notifications": "Сповіщення на робочому столі",
      "profile.notifyIntro": "Сповіщення і звук, коли клієнт пише у зверненні, призначеному вам.",
      "profile.enable": "Увімкнути сповіщення", "profile.enabled": "Сповіщення увімкнено.", "profile.denied": "Браузер забороняє сповіщення для цього сайту. Дозвольте їх у налаштуваннях сайту.",
      "profile.unsupported": "Цей браузер не підтримує сповіщення.", "profile.disable": "Вимкнути сповіщення",
      "profile.sound": "Звуковий сигнал", "profile.test": "Перевірити",
      "profile.telegram": "Telegram", "profile.telegramIntro": "Прив'яжіть Telegram, щоб отримувати сповіщення і відповідати з Telegram.",
      "profile.telegramLink": "Отримати код прив'язки", "profile.telegramSteps": "Відкрийте нашого бота в Telegram і протягом {t} надішліть йому повідомлення:",
      "profile.telegramLinked": "Ваш Telegram прив'язано.", "profile.telegramUnlink": "Відв'язати Telegram",
      "profile.telegramExpires": "Код дійсний до {when}.",
      "notify.newMessage": "Нове повідомлення: {name}",
      "common.close": "Закрити", "common.yes": "Так", "common.no": "Ні", "common.save": "Зберегти", "common.retry": "Спробувати ще",
      "common.loading": "Завантаження…", "common.none": "Немає", "common.copy": "Копіювати", "common.refresh": "Оновити",
      "dur.s": "{n} с", "dur.m": "{n} хв", "dur.h": "{n} год", "dur.d": "{n} д"
    }
  };

  // Every `extensions.code` the API answers, as a sentence. {n}, {s}, {field}, … come from the
  // error's extensions (see sentence()).
  const ERRORS = {
    en: {
      NETWORK: "The service cannot be reached. Check your connection and try again.",
      INVALID_CREDENTIALS: "The e-mail or the password is wrong.",
      ACCOUNT_LOCKED: "Too many failed attempts: the account is locked. Try again in {wait}.",
      ACCOUNT_LOCKED_NOW: "Too many failed attempts: the account is locked for a while. Try again later.",
      RATE_LIMITED: "Too many attempts. Try again in {wait}.",
      RATE_LIMITED_NOW: "Too many attempts at once. Wait a moment and try again.",
      INVITATION_INVALID: "This invitation link has expired, was already used or was replaced by a newer one. Ask your admin for a new invitation.",
      RESET_LINK_INVALID: "This password reset link has expired or was already used. Ask for a new one.",
      SESSION_ENDED: "Your session has ended. Please sign in again.",
      REFRESH_TOKEN_REUSED: "For your safety, we ended your session: it was used from somewhere else. Please sign in again.",
      CSRF_REJECTED: "The request could not be verified. Reload the page and sign in again.",
      PASSWORD_TOO_WEAK: "This password is too weak. Use at least {min} characters, and avoid common passwords.",
      OPERATOR_DEACTIVATED: "Your account is deactivated. Ask your admin if you need access.",
      UNAUTHENTICATED: "Your session has ended. Please sign in again.",
      FORBIDDEN: "Your role does not allow this.",
      NOT_ASSIGNEE: "This conversation is not assigned to you.",
      EMPTY_BODY: "Write a message first.", EMPTY_FIELD: "Please fill in {field}.",
      MALFORMED_FIELD: "Please check {field}: it does not look right.",
      BODY_TOO_LONG: "The message is too long: {actual} characters, at most {limit}.",
      FIELD_TOO_LONG: "{field} is too long: at most {limit} characters.",
      INVALID_CHARACTER: "{field} contains characters that are not allowed.",
      INVALID_ARGUMENT: "Something in the request was not accepted ({argument}). Check it and try again.",
      INVALID_REQUEST: "The request was not understood. Reload the page and try again.",
      CONVERSATION_NOT_FOUND: "This conversation does not exist.",
      CONVERSATION_ALREADY_EXISTS: "This conversation already exists.",
      CONVERSATION_CLOSED: "The conversation is closed: reopen it first.",
      ILLEGAL_TRANSITION: "The conversation cannot go from “{from}” to “{to}”.",
      RATING_DISABLED: "This inbox does not ask for ratings.", RATING_TOO_EARLY: "A rating is given once the conversation has ended.",
      ALREADY_RATED: "The conversation is already rated.", SCORE_OUT_OF_RANGE: "The score must be between {min} and {max}.",
      MESSAGE_NOT_FOUND: "That message does not exist in this conversation.",
      CONSENT_REQUIRED: "The customer's consent is needed for a call-back.",
      CALLBACK_ALREADY_PENDING: "A call-back is already pending in this conversation.",
      NO_SUCH_CALLBACK: "This call-back does not exist or is already settled.",
      INVALID_CALLBACK_WINDOW: "Check the time: it must be in the future and within the window.",
      OUTSIDE_BRANCH: "This operator cannot work conversations of that branch.",
      TOO_MANY_ATTACHMENTS: "Too many files in one message.",
      NOT_TRANSFERABLE: "This conversation belongs to a branch inbox and cannot be transferred.",
      INBOX_NOT_FOUND: "This inbox does not exist.", INBOX_ALREADY_EXISTS: "This inbox already exists.",
      OPERATOR_NOT_FOUND: "This operator does not exist.", OPERATOR_ALREADY_EXISTS: "An operator with this e-mail or id already exists.",
      WEBHOOK_ENDPOINT_NOT_FOUND: "This webhook endpoint does not exist.", WEBHOOK_ENDPOINT_ALREADY_EXISTS: "This webhook endpoint already exists.",
      WEBHOOK_DELIVERY_NOT_FOUND: "This delivery does not exist.", WEBHOOK_DELIVERY_PENDING: "This delivery is still being tried: wait until it is delivered or failed.",
      INVALID_WIDGET_TOKEN: "The widget token is not valid.", INBOX_INACTIVE: "This inbox is switched off.",
      UNSUPPORTED_ATTACHMENT_TYPE: "This kind of file cannot be attached here.", EMPTY_FILE: "The file is empty.",
      ATTACHMENT_TOO_LARGE: "The file is too large for this inbox.", ATTACHMENT_NOT_FOUND: "The file is no longer available.",
      IDEMPOTENCY_KEY_REUSED: "This was already sent with different content. Reload and try again.",
      CONFLICT: "Someone changed this at the same moment. Try again.",
      SPAM_SUSPECTED: "The request looked automated and was refused.",
      MESSENGER_DISABLED: "The messenger is switched off on this service.",
      ORIGIN_NOT_ALLOWED: "This site is not allowed for the inbox.",
      CONTACT_NOT_FOUND: "This contact does not exist.", CONTACT_ERASED: "This contact's data was erased.",
      IDENTITY_NOT_VERIFIED: "The user's identity could not be verified.", IDENTITY_REQUIRED: "Only verified users may chat in this inbox.",
      IDENTITY_NOT_CONFIGURED: "Issue the inbox's identity secret first.",
      TELEGRAM_DISABLED: "Telegram is not set up on this service.", TELEGRAM_UNAVAILABLE: "Telegram cannot be reached right now. Try again later.",
      UNAVAILABLE: "The service is busy. Try again in a moment.",
      INTERNAL: "Something went wrong on our side. Try again.",
      DEFAULT: "Something went wrong. Try again."
    },
    ru: {
      NETWORK: "Сервис недоступен. Проверьте подключение и попробуйте снова.",
      INVALID_CREDENTIALS: "Неверный e-mail или пароль.",
      ACCOUNT_LOCKED: "Слишком много неудачных попыток: учётная запись заблокирована. Попробуйте через {wait}.",
      ACCOUNT_LOCKED_NOW: "Слишком много неудачных попыток: учётная запись временно заблокирована. Попробуйте позже.",
      RATE_LIMITED: "Слишком много попыток. Попробуйте через {wait}.",
      RATE_LIMITED_NOW: "Слишком много попыток сразу. Подождите немного и попробуйте снова.",
      INVITATION_INVALID: "Ссылка-приглашение устарела, уже использована или заменена новой. Попросите администратора пригласить вас снова.",
      RESET_LINK_INVALID: "Ссылка для сброса пароля устарела или уже использована. Запросите новую.",
      SESSION_ENDED: "Сеанс завершён. Войдите снова.",
      REFRESH_TOKEN_REUSED: "В целях безопасности мы завершили ваш сеанс: им воспользовались в другом месте. Войдите снова.",
      CSRF_REJECTED: "Не удалось проверить запрос. Обновите страницу и войдите снова.",
      PASSWORD_TOO_WEAK: "Слишком простой пароль. Используйте не меньше {min} символов и избегайте распространённых паролей.",
      OPERATOR_DEACTIVATED: "Ваша учётная запись отключена. Обратитесь к администратору, если вам нужен доступ.",
      UNAUTHENTICATED: "Сеанс завершён. Войдите снова.",
      FORBIDDEN: "Ваша роль этого не позволяет.",
      NOT_ASSIGNEE: "Это обращение назначено не вам.",
      EMPTY_BODY: "Сначала напишите сообщение.", EMPTY_FIELD: "Заполните поле «{field}».",
      MALFORMED_FIELD: "Проверьте поле «{field}»: похоже, в нём ошибка.",
      BODY_TOO_LONG: "Сообщение слишком длинное: {actual} символов, можно не больше {limit}.",
      FIELD_TOO_LONG: "Поле «{field}» слишком длинное: не больше {limit} символов.",
      INVALID_CHARACTER: "В поле «{field}» есть недопустимые символы.",
      INVALID_ARGUMENT: "Часть запроса не принята ({argument}). Проверьте и попробуйте снова.",
      INVALID_REQUEST: "Запрос не распознан. Обновите страницу и попробуйте снова.",
      CONVERSATION_NOT_FOUND: "Такого обращения нет.",
      CONVERSATION_ALREADY_EXISTS: "Такое обращение уже есть.",
      CONVERSATION_CLOSED: "Обращение закрыто: сначала откройте его снова.",
      ILLEGAL_TRANSITION: "Обращение нельзя перевести из статуса «{from}» в «{to}».",
      RATING_DISABLED: "Этот канал не запрашивает оценку.", RATING_TOO_EARLY: "Оценку ставят после завершения обращения.",
      ALREADY_RATED: "Обращение уже оценено.", SCORE_OUT_OF_RANGE: "Оценка должна быть от {min} до {max}.",
      MESSAGE_NOT_FOUND: "Такого сообщения в обращении нет.",
      CONSENT_REQUIRED: "Для обратного звонка нужно согласие клиента.",
      CALLBACK_ALREADY_PENDING: "В этом обращении уже ждут обратного звонка.",
      NO_SUCH_CALLBACK: "Такого запроса на звонок нет, или он уже завершён.",
      INVALID_CALLBACK_WINDOW: "Проверьте время: оно должно быть в будущем и в пределах удобного окна.",
      OUTSIDE_BRANCH: "Этот оператор не работает с обращениями этого филиала.",
      TOO_MANY_ATTACHMENTS: "Слишком много файлов в одном сообщении.",
      NOT_TRANSFERABLE: "Обращение принадлежит каналу филиала, передать его нельзя.",
      INBOX_NOT_FOUND: "Такого канала обращений нет.", INBOX_ALREADY_EXISTS: "Такой канал уже есть.",
      OPERATOR_NOT_FOUND: "Такого оператора нет.", OPERATOR_ALREADY_EXISTS: "Оператор с таким e-mail или id уже есть.",
      WEBHOOK_ENDPOINT_NOT_FOUND: "Такого адреса вебхука нет.", WEBHOOK_ENDPOINT_ALREADY_EXISTS: "Такой адрес вебхука уже есть.",
      WEBHOOK_DELIVERY_NOT_FOUND: "Такой доставки нет.", WEBHOOK_DELIVERY_PENDING: "Доставка ещё выполняется: дождитесь, пока она пройдёт или не удастся.",
      INVALID_WIDGET_TOKEN: "Токен виджета недействителен.", INBOX_INACTIVE: "Этот канал выключен.",
      UNSUPPORTED_ATTACHMENT_TYPE: "Такой файл сюда прикрепить нельзя.", EMPTY_FILE: "Файл пустой.",
      ATTACHMENT_TOO_LARGE: "Файл слишком большой для этого канала.", ATTACHMENT_NOT_FOUND: "Файл больше недоступен.",
      IDEMPOTENCY_KEY_REUSED: "Это уже было отправлено с другим содержимым. Обновите страницу и попробуйте снова.",
      CONFLICT: "Кто-то изменил это в тот же момент. Попробуйте снова.",
      SPAM_SUSPECTED: "Запрос похож на автоматический и отклонён.",
      MESSENGER_DISABLED: "Мессенджер в этом сервисе выключен.",
      ORIGIN_NOT_ALLOWED: "Этот сайт не разрешён для канала.",
      CONTACT_NOT_FOUND: "Такого клиента нет.", CONTACT_ERASED: "Данные этого клиента удалены.",
      IDENTITY_NOT_VERIFIED: "Не удалось подтвердить пользователя.", IDENTITY_REQUIRED: "В этом канале могут писать только подтверждённые пользователи.",
      IDENTITY_NOT_CONFIGURED: "Сначала выпустите секрет подтверждения канала.",
      TELEGRAM_DISABLED: "Telegram в этом сервисе не настроен.", TELEGRAM_UNAVAILABLE: "Telegram сейчас недоступен. Попробуйте позже.",
      UNAVAILABLE: "Сервис перегружен. Попробуйте через минуту.",
      INTERNAL: "У нас что-то пошло не так. Попробуйте снова.",
      DEFAULT: "Что-то пошло не так. Попробуйте снова."
    },
    uk: {
      NETWORK: "Сервіс недоступний. Перевірте з'єднання і спробуйте ще раз.",
      INVALID_CREDENTIALS: "Неправильний e-mail або пароль.",
      ACCOUNT_LOCKED: "Забагато невдалих спроб: обліковий запис заблоковано. Спробуйте через {wait}.",
      ACCOUNT_LOCKED_NOW: "Забагато невдалих спроб: обліковий запис тимчасово заблоковано. Спробуйте пізніше.",
      RATE_LIMITED: "Забагато спроб. Спробуйте через {wait}.",
      RATE_LIMITED_NOW: "Забагато спроб одразу. Зачекайте трохи і спробуйте ще раз.",
      INVITATION_INVALID: "Посилання-запрошення застаріло, вже використане або замінене новим. Попросіть адміністратора запросити вас знову.",
      RESET_LINK_INVALID: "Посилання для скидання пароля застаріло або вже використане. Запросіть нове.",
      SESSION_ENDED: "Сеанс завершено. Увійдіть знову.",
      REFRESH_TOKEN_REUSED: "З міркувань безпеки ми завершили ваш сеанс: ним скористалися в іншому місці. Увійдіть знову.",
      CSRF_REJECTED: "Не вдалося перевірити запит. Оновіть сторінку і увійдіть знову.",
      PASSWORD_TOO_WEAK: "Надто простий пароль. Використайте щонайменше {min} символів і уникайте поширених паролів.",
      OPERATOR_DEACTIVATED: "Ваш обліковий запис вимкнено. Зверніться до адміністратора, якщо вам потрібен доступ.",
      UNAUTHENTICATED: "Сеанс завершено. Увійдіть знову.",
      FORBIDDEN: "Ваша роль цього не дозволяє.",
      NOT_ASSIGNEE: "Це звернення призначене не вам.",
      EMPTY_BODY: "Спершу напишіть повідомлення.", EMPTY_FIELD: "Заповніть поле «{field}».",
      MALFORMED_FIELD: "Перевірте поле «{field}»: схоже, у ньому помилка.",
      BODY_TOO_LONG: "Повідомлення задовге: {actual} символів, можна не більше {limit}.",
      FIELD_TOO_LONG: "Поле «{field}» задовге: не більше {limit} символів.",
      INVALID_CHARACTER: "У полі «{field}» є недопустимі символи.",
      INVALID_ARGUMENT: "Частину запиту не прийнято ({argument}). Перевірте і спробуйте ще раз.",
      INVALID_REQUEST: "Запит не розпізнано. Оновіть сторінку і спробуйте ще раз.",
      CONVERSATION_NOT_FOUND: "Такого звернення немає.",
      CONVERSATION_ALREADY_EXISTS: "Таке звернення вже є.",
      CONVERSATION_CLOSED: "Звернення закрито: спершу відкрийте його знову.",
      ILLEGAL_TRANSITION: "Звернення не можна перевести зі статусу «{from}» у «{to}».",
      RATING_DISABLED: "Цей канал не запитує оцінку.", RATING_TOO_EARLY: "Оцінку ставлять після завершення звернення.",
      ALREADY_RATED: "Звернення вже оцінено.", SCORE_OUT_OF_RANGE: "Оцінка має бути від {min} до {max}.",
      MESSAGE_NOT_FOUND: "Такого повідомлення у зверненні немає.",
      CONSENT_REQUIRED: "Для зворотного дзвінка потрібна згода клієнта.",
      CALLBACK_ALREADY_PENDING: "У цьому зверненні вже чекають зворотного дзвінка.",
      NO_SUCH_CALLBACK: "Такого запиту на дзвінок немає, або його вже завершено.",
      INVALID_CALLBACK_WINDOW: "Перевірте час: він має бути в майбутньому і в межах зручного вікна.",
      OUTSIDE_BRANCH: "Цей оператор не працює зі зверненнями цієї філії.",
      TOO_MANY_ATTACHMENTS: "Забагато файлів в одному повідомленні.",
      NOT_TRANSFERABLE: "Звернення належить каналу філії, передати його не можна.",
      INBOX_NOT_FOUND: "Такого каналу звернень немає.", INBOX_ALREADY_EXISTS: "Такий канал уже є.",
      OPERATOR_NOT_FOUND: "Такого оператора немає.", OPERATOR_ALREADY_EXISTS: "Оператор із таким e-mail або id уже є.",
      WEBHOOK_ENDPOINT_NOT_FOUND: "Такої адреси вебхука немає.", WEBHOOK_ENDPOINT_ALREADY_EXISTS: "Така адреса вебхука вже є.",
      WEBHOOK_DELIVERY_NOT_FOUND: "Такої доставки немає.", WEBHOOK_DELIVERY_PENDING: "Доставка ще триває: дочекайтеся, поки вона пройде або не вдасться.",
      INVALID_WIDGET_TOKEN: "Токен віджета недійсний.", INBOX_INACTIVE: "Цей канал вимкнено.",
      UNSUPPORTED_ATTACHMENT_TYPE: "Такий файл сюди додати не можна.", EMPTY_FILE: "Файл порожній.",
      ATTACHMENT_TOO_LARGE: "Файл завеликий для цього каналу.", ATTACHMENT_NOT_FOUND: "Файл більше недоступний.",
      IDEMPOTENCY_KEY_REUSED: "Це вже було надіслано з іншим вмістом. Оновіть сторінку і спробуйте ще раз.",
      CONFLICT: "Хтось змінив це в ту саму мить. Спробуйте ще раз.",
      SPAM_SUSPECTED: "Запит схожий на автоматичний і відхилений.",
      MESSENGER_DISABLED: "Месенджер у цьому сервісі вимкнено.",
      ORIGIN_NOT_ALLOWED: "Цей сайт не дозволено для каналу.",
      CONTACT_NOT_FOUND: "Такого клієнта немає.", CONTACT_ERASED: "Дані цього клієнта видалено.",
      IDENTITY_NOT_VERIFIED: "Не вдалося підтвердити користувача.", IDENTITY_REQUIRED: "У цьому каналі можуть писати лише підтверджені користувачі.",
      IDENTITY_NOT_CONFIGURED: "Спершу випустіть секрет підтвердження каналу.",
      TELEGRAM_DISABLED: "Telegram у цьому сервісі не налаштовано.", TELEGRAM_UNAVAILABLE: "Telegram зараз недоступний. Спробуйте пізніше.",
      UNAVAILABLE: "Сервіс перевантажений. Спробуйте за хвилину.",
      INTERNAL: "У нас щось пішло не так. Спробуйте ще раз.",
      DEFAULT: "Щось пішло не так. Спробуйте ще раз."
    }
  };

  // ---------------------------------------------------------------------------------------
  // Language, texts, formatting
  // ---------------------------------------------------------------------------------------
  const LOCALE_KEY = "switchboard.console.locale";
  const PREFS_KEY = "switchboard.console.prefs";
  const LOCALES = ["ru", "uk", "en"];
  const MIN_PASSWORD = 10;

  function pickLocale() {
    let saved = null;
    try { saved = localStorage.getItem(LOCALE_KEY); } catch (e) { /* private mode */ }
    if (saved && TEXTS[saved]) return saved;
    const list = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    for (const l of list) {
      const code = String(l || "").toLowerCase().slice(0, 2);
      if (TEXTS[code]) return code;
      if (code === "be") return "ru";
    }
    return "en";
  }

  function loadPrefs() {
    try { return Object.assign({ sound: true, notify: false }, JSON.parse(localStorage.getItem(PREFS_KEY) || "{}")); } catch (e) { return { sound: true, notify: false }; }
  }
  function savePrefs() { try { localStorage.setItem(PREFS_KEY, JSON.stringify(S.prefs)); } catch (e) { /* private mode */ } }

  /** The text of `key` in the user's language, with {vars} filled in. */
  function t(key, vars) {
    let s = TEXTS[S.locale][key];
    if (s == null) s = TEXTS.en[key];
    if (s == null) return key;
    return s.replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? String(vars[k]) : ""));
  }

  function intlLocale() { return S.locale === "en" ? "en-GB" : S.locale; }

  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const now = new Date();
    const sameDay = d.toDateString() === now.toDateString();
    if (sameDay) return d.toLocaleTimeString(intlLocale(), { hour: "2-digit", minute: "2-digit" });
    const sameYear = d.getFullYear() === now.getFullYear();
    return d.toLocaleDateString(intlLocale(), sameYear ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" });
  }
  function fmtDateTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString(intlLocale(), { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  function fmtFullTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString(intlLocale(), { dateStyle: "medium", timeStyle: "medium" });
  }
  /** A duration in seconds, as "2 h 5 min", "45 s", "3 d 4 h". */
  function fmtDuration(secs) {
    if (secs == null || isNaN(secs)) return "";
    secs = Math.max(0, Math.round(secs));
    if (secs < 60) return t("dur.s", { n: secs });
    const m = Math.floor(secs / 60);
    if (m < 60) return t("dur.m", { n: m });
    const h = Math.floor(m / 60);
    if (h < 24) return m % 60 ? t("dur.h", { n: h }) + " " + t("dur.m", { n: m % 60 }) : t("dur.h", { n: h });
    const d = Math.floor(h / 24);
    return h % 24 ? t("dur.d", { n: d }) + " " + t("dur.h", { n: h % 24 }) : t("dur.d", { n: d });
  }
  /** A wait, rounded up to what it shows ("15 min" for 14 min 59 s): never too early. */
  function fmtWait(secs) {
    secs = Math.max(1, Math.ceil(secs || 0));
    if (secs < 60) return fmtDuration(secs);
    if (secs < 3600) return fmtDuration(Math.ceil(secs / 60) * 60);
    return fmtDuration(Math.ceil(secs / 3600) * 3600);
  }
  function fmtBytes(n) {
    if (n == null) return "";
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KiB";
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }
  function shortId(id) { return id ? String(id).slice(0, 8) : ""; }

  // ---------------------------------------------------------------------------------------
  // Errors
  // ---------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(code, extensions, message) {
      super(message || code);
      this.code = code || "DEFAULT";
      this.extensions = extensions || {};
    }
  }

  function fieldLabel(field) {
    const f = String(field || "").toLowerCase();
    if (!f) return t("reply.label");
    if (f.includes("mail")) return t("field.email");
    if (f.includes("password")) return t("field.password");
    if (f.includes("phone")) return t("details.phone");
    if (f === "name") return t("details.name");
    if (f.includes("title")) return t("inbox.f.title");
    if (f.includes("body")) return t("reply.label");
    if (f.includes("tag")) return t("filter.tag");
    return field;
  }

  /** Every error becomes a sentence in the user's language. */
  function sentence(err) {
    if (!(err instanceof ApiError)) {
      console.error(err);
      return ERRORS[S.locale].DEFAULT;
    }
    const table = ERRORS[S.locale];
    const ext = err.extensions || {};
    const code = err.code;
    let text = table[code];
    if (text == null) return table.DEFAULT;
    const vars = Object.assign({}, ext);
    if ((code === "ACCOUNT_LOCKED" || code === "RATE_LIMITED")) {
      if (ext.retryAfter == null) text = table[code + "_NOW"];
      else vars.wait = fmtWait(Number(ext.retryAfter));
    }
    if (code === "PASSWORD_TOO_WEAK") vars.min = ext.minLength || MIN_PASSWORD;
    if (ext.field != null) vars.field = fieldLabel(ext.field);
    if (code === "ILLEGAL_TRANSITION") {
      vars.from = ext.from ? t("convStatus." + ext.from) : "?";
      vars.to = ext.to ? t("convStatus." + ext.to) : "?";
    }
    if (code === "INVALID_ARGUMENT" && !ext.argument) return text.replace(/\s*\(\{argument\}\)/, "");
    return text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] != null ? String(vars[k]) : ""));
  }

  // ---------------------------------------------------------------------------------------
  // DOM
  // ---------------------------------------------------------------------------------------
  /** h("div", {class: "x", onclick: fn, "data-test": "y"}, child, "text", [children]) */
  function h(tag, attrs, ...children) {
    const el = tag instanceof Element ? tag : (tag === "svg" || SVG_TAGS.has(tag)) ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
        else if (k === "class") el.setAttribute("class", v);
        else if (k === "text") el.textContent = v;
        else if (k === "value" && "value" in el && !(el instanceof SVGElement)) el.value = v;
        else if (k === "checked" || k === "selected" || k === "disabled" || k === "multiple") { el[k] = !!v; if (v === true && k !== "checked" && k !== "selected") el.setAttribute(k, ""); }
        else if (k === "dataset") Object.assign(el.dataset, v);
        else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    append(el, children);
    return el;
  }
  const SVG_TAGS = new Set(["svg", "g", "path", "line", "rect", "circle", "text", "polyline", "title", "tspan"]);
  function append(el, children) {
    for (const c of children) {
      if (c == null || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else if (c instanceof Node) el.appendChild(c);
      else el.appendChild(document.createTextNode(String(c)));
    }
  }
  function clear(el) { while (el && el.firstChild) el.removeChild(el.firstChild); return el; }
  function $(sel, root) { return (root || document).querySelector(sel); }

  /** A select of `options` ([value, label]) with `value` selected. */
  function select(attrs, options, value) {
    return h("select", attrs, options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value == null ? "" : value) }, label)));
  }

  /** A labelled form row. */
  function field(label, control, hint, testId) {
    const id = control.id || ("f-" + Math.random().toString(36).slice(2, 9));
    control.id = id;
    return h("div", { class: "field", "data-test": testId || null },
      h("label", { for: id }, label),
      control,
      hint ? h("p", { class: "hint", id: id + "-hint" }, hint) : null);
  }

  /** A place for an error sentence (role=alert so screen readers say it). */
  function errorBox(testId) {
    const el = h("p", { class: "error", role: "alert", "data-test": testId || "error", hidden: true });
    el.show = (errOrText) => {
      el.textContent = typeof errOrText === "string" ? errOrText : sentence(errOrText);
      el.hidden = false;
    };
    el.hide = () => { el.hidden = true; el.textContent = ""; };
    return el;
  }

  let toastTimer = null;
  /** A short message at the bottom of the screen: an action's error, or "Saved.". */
  function toast(errOrText, kind) {
    const box = $("#toast");
    if (!box) return;
    const isError = typeof errOrText !== "string" || kind === "error";
    box.textContent = typeof errOrText === "string" ? errOrText : sentence(errOrText);
    box.className = "toast " + (isError ? "toast-error" : "toast-ok");
    box.setAttribute("data-test", isError ? "toast-error" : "toast");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 3000);
  }

  /** Runs an action from a button: disables it meanwhile, shows the error as a toast. */
  async function act(button, fn, errEl) {
    if (button) button.disabled = true;
    if (errEl) errEl.hide();
    try { return await fn(); } catch (e) {
      if (errEl) errEl.show(e); else toast(e);
      return undefined;
    } finally { if (button && button.isConnected) button.disabled = false; }
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const x = Array.from(b, (v) => (v + 256).toString(16).slice(1)).join("");
    return x.slice(0, 8) + "-" + x.slice(8, 12) + "-" + x.slice(12, 16) + "-" + x.slice(16, 20) + "-" + x.slice(20);
  }
  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
  function debounce(fn, ms) { let timer; return (...a) => { clearTimeout(timer); timer = setTimeout(() => fn(...a), ms); }; }

  async function copyText(text, button) {
    try { await navigator.clipboard.writeText(text); } catch (e) {
      const ta = h("textarea", { style: "position:fixed;left:-9999px" }); ta.value = text; document.body.appendChild(ta); ta.select();
      try { document.execCommand("copy"); } catch (e2) { /* nothing more to try */ }
      ta.remove();
    }
    toast(t("inbox.copied"));
    if (button) button.focus();
  }

  // ---------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------
  const S = {
    locale: "en",
    prefs: { sound: true, notify: false },
    session: null,        // { accessToken, expiresAt (ms), operator }
    me: null,             // the Operator
    inboxes: null,        // [Inbox] (id, title, branchId, active)
    operators: null,      // [Operator] (admins and managers)
    unreadTotal: 0,
    unread: new Map(),    // conversationId -> unread
    wanted: null,         // the hash asked for before sign-in
    notice: null,         // an error or text shown on the sign-in page
    live: null,           // the subscription socket
    view: null,           // the mounted view { name, update(route), unmount() }
    liveUp: true,         // the subscription socket is up
    refreshRetrying: false // a refresh failed for a passing reason and is being retried
  };
  S.locale = pickLocale();
  S.prefs = loadPrefs();
  function roles() { return (S.me && S.me.roles) || (S.session && S.session.operator && S.session.operator.roles) || []; }
  function hasRole(...rs) { const mine = roles(); return rs.some((r) => mine.includes(r)); }
  const CONVERSATION_ROLES = ["ADMIN", "MODERATOR", "MANAGER"];
  function works() { return hasRole(...CONVERSATION_ROLES); }
  function isAuditor() { return hasRole("AUDITOR"); }
  function seesTeam() { return hasRole("ADMIN", "MANAGER"); }
  function landing() {
    if (works()) return "#/inbox";
    if (hasRole("ANALYST")) return "#/reports";
    if (isAuditor()) return "#/audit";
    return "#/profile";
  }
  function operatorName(id) {
    if (!id) return "";
    if (S.me && S.me.id === id) return S.me.name;
    const op = (S.operators || []).find((o) => o.id === id);
    return op ? op.name : t("sender.operator") + " " + shortId(id);
  }
  function inboxTitle(id) {
    const inbox = (S.inboxes || []).find((i) => i.id === id);
    return inbox ? inbox.title : shortId(id);
  }
  // ---------------------------------------------------------------------------------------
  // The API: GraphQL over HTTP (same origin), the session, the subscription socket
  // ---------------------------------------------------------------------------------------
  const GRAPHQL = "/graphql";
  const WS_URL = location.origin.replace(/^http/, "ws") + GRAPHQL;
  const SESSION_FIELDS = "accessToken expiresAt operator { id name roles email status branchId capacity telegramLinked }";
  // The codes after which the session is gone for good: only signing in again helps.
  const SESSION_GONE = ["SESSION_ENDED", "REFRESH_TOKEN_REUSED", "CSRF_REJECTED", "OPERATOR_DEACTIVATED"];

  function csrfToken() {
    const found = document.cookie.split(/;\s*/).find((c) => c.startsWith("sb_csrf="));
    return found ? decodeURIComponent(found.slice(8)) : null;
  }

  /** One POST /graphql. Throws ApiError with the first error's code. */
  async function post(query, variables, opts) {
    const headers = { "content-type": "application/json" };
    if (opts.token) headers.authorization = "Bearer " + opts.token;
    if (opts.csrf) headers["x-switchboard-csrf"] = csrfToken() || "";
    let res;
    try {
      res = await fetch(GRAPHQL, { method: "POST", headers, credentials: "same-origin", body: JSON.stringify({ query, variables: variables || {} }) });
    } catch (e) { throw new ApiError("NETWORK"); }
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    if (body && body.errors && body.errors.length) {
      const e = body.errors[0];
      const ext = e.extensions || {};
      if (ext.retryAfter == null && res.headers.get("retry-after")) ext.retryAfter = Number(res.headers.get("retry-after"));
      throw new ApiError(ext.code || "INTERNAL", ext, e.message);
    }
    if (!body || !body.data) {
      if (res.status === 404 && body && body.detail === "Messenger disabled") throw new ApiError("MESSENGER_DISABLED");
      throw new ApiError(res.status >= 500 ? "UNAVAILABLE" : "DEFAULT");
    }
    return body.data;
  }

  /**
   * GraphQL as the signed-in operator. An UNAUTHENTICATED answer refreshes the session once
   * and tries again; if that fails too, the console goes back to the sign-in page.
   */
  async function gql(query, variables) {
    if (!S.session) throw new ApiError("UNAUTHENTICATED");
    const token = S.session.accessToken;
    try {
      return await post(query, variables, { token });
    } catch (e) {
      if (e.code !== "UNAUTHENTICATED") throw e;
      const fresh = await refreshSession(token).catch((err) => { sessionGone(err); throw err; });
      return post(query, variables, { token: fresh.accessToken });
    }
  }

  /** Anonymous calls: sign-in, invitations, password resets. */
  function anon(query, variables, csrf) { return post(query, variables, { csrf: !!csrf }); }

  // --- the session ------------------------------------------------------------------------
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("switchboard-session") : null;
  let refreshTimer = null;
  let refreshing = null;
  // A refresh that failed for a passing reason (offline, UNAVAILABLE, INTERNAL, RATE_LIMITED):
  // the tab keeps its session and tries again with backoff (or when the server said); until
  // then a refresh answers that same error instead of asking the server again.
  let refreshError = null;
  let refreshFailures = 0;
  let refreshRetryAt = 0;

  // Generations order sign-ins and sign-outs across tabs. An explicit sign-in and a sign-out
  // take a number above every one seen so far; "session" and "signedOut" messages carry it.
  // A tab ignores "session" messages that are not newer than its last sign-out: a refresh
  // another tab finished just before the sign-out must not sign this tab back in.
  const GEN_KEY = "switchboard.console.sessionGen";
  let gen = storedGen();
  let outGen = -1; // the generation of this tab's last sign-out
  function storedGen() { try { return Number(localStorage.getItem(GEN_KEY)) || 0; } catch (e) { return 0; } }
  function noteGen(g) {
    g = Number(g) || 0;
    if (g <= gen) return;
    gen = g;
    try { localStorage.setItem(GEN_KEY, String(gen)); } catch (e) { /* private mode */ }
  }
  function nextGen() { noteGen(Math.max(gen, storedGen()) + 1); return gen; }
  function markSignedOut() { outGen = nextGen(); return outGen; }

  // A sign-out the server has not confirmed yet. Only a flag (never a token), kept in
  // localStorage (sessionStorage, memory if blocked) so that a reload does not sign the next
  // person in through the refresh cookie that is still alive.
  const SIGN_OUT_KEY = "switchboard.console.signOutPending";
  let signOutPendingInMemory = false;
  function storages() {
    const out = [];
    try { if (window.localStorage) out.push(window.localStorage); } catch (e) { /* blocked */ }
    try { if (window.sessionStorage) out.push(window.sessionStorage); } catch (e) { /* blocked */ }
    return out;
  }
  function signOutPending() {
    if (signOutPendingInMemory) return true;
    for (const store of storages()) { try { if (store.getItem(SIGN_OUT_KEY)) return true; } catch (e) { /* unavailable */ } }
    return false;
  }
  function setSignOutPending(on) {
    let kept = false;
    for (const store of storages()) {
      try {
        if (!on) store.removeItem(SIGN_OUT_KEY);
        else if (!kept) { store.setItem(SIGN_OUT_KEY, "1"); kept = true; }
      } catch (e) { /* unavailable: the next one */ }
    }
    signOutPendingInMemory = on && !kept;
  }

  /** Milliseconds before try `n` (1, 2, …) after `err`: the server's retryAfter if it gave one, else exponential backoff with jitter. */
  function retryDelay(err, n, base, cap) {
    const after = err && err.extensions ? Number(err.extensions.retryAfter) : NaN;
    if (after > 0) return after * 1000 + Math.random() * 1000; // never before the server said
    return Math.min(cap, base * Math.pow(2, Math.max(0, n - 1))) * (0.75 + Math.random() / 2);
  }

  function adoptSession(s, tell) {
    S.session = { accessToken: s.accessToken, expiresAt: Date.parse(s.expiresAt), operator: s.operator };
    if (!S.me || S.me.id !== s.operator.id) S.me = Object.assign({}, s.operator);
    else S.me = Object.assign(S.me, s.operator);
    refreshError = null;
    refreshFailures = 0;
    refreshRetryAt = 0;
    setRefreshRetrying(false);
    scheduleRefresh();
    // Other tabs take the new token instead of refreshing themselves (which would be reuse
    // of a rotated token if they raced).
    if (tell && channel) channel.postMessage({ type: "session", session: s, gen });
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    if (!S.session) return;
    const left = S.session.expiresAt - Date.now();
    // Shortly before expiry: a minute before, or at 80 % of a short lifetime.
    const wait = Math.max(2000, Math.min(left - 60000, left * 0.8));
    refreshTimer = setTimeout(() => { refreshSession().catch(sessionGone); }, wait);
  }

  /** Serialises refreshes and sign-outs across tabs: two tabs refreshing with one token would be reuse. */
  function withLock(fn) {
    if (navigator.locks && navigator.locks.request) return navigator.locks.request("switchboard-refresh", fn);
    return fn();
  }

  /**
   * Refreshes the session through the sb_refresh cookie. `staleToken`: the token that just
   * failed; if another tab has meanwhile handed us a newer one, that one is used. `again`:
   * the scheduled retry after a passing failure (other callers wait for it).
   */
  function refreshSession(staleToken, again) {
    if (refreshing) return refreshing;
    if (!again && S.session && refreshError && Date.now() < refreshRetryAt) return Promise.reject(refreshError);
    const before = staleToken || (S.session && S.session.accessToken);
    const had = !!S.session;
    const out = outGen;
    // Signed out meanwhile: a refresh now would sign this tab back in.
    const signedOutMeanwhile = () => {
      if (S.session) return S.session; // and signed in again since: that session is fresh
      throw new ApiError("SESSION_ENDED");
    };
    refreshing = withLock(async () => {
      if (outGen !== out) return signedOutMeanwhile();
      if (had && !S.session) throw new ApiError("SESSION_ENDED");
      // A sign-out the server has not confirmed: the refresh cookie must not be used again.
      if (signOutPending()) throw new ApiError("SESSION_ENDED");
      // Another tab refreshed while we waited for the lock, and told us.
      if (S.session && S.session.accessToken !== before && S.session.expiresAt - Date.now() > 30000) return S.session;
      const data = await anon("mutation { refreshSession { " + SESSION_FIELDS + " } }", {}, true);
      if (outGen !== out) return signedOutMeanwhile();
      adoptSession(data.refreshSession, true);
      return S.session;
    }).finally(() => { refreshing = null; });
    return refreshing;
  }

  /**
   * A refresh failed. Only the SESSION_GONE codes end the session (here and, broadcast, in
   * every tab): back to the sign-in page, saying why. Anything else passes: the tab stays as
   * it is, shows that it is reconnecting, and tries again with backoff.
   */
  function sessionGone(err) {
    if (!S.session) return;
    if (err && SESSION_GONE.includes(err.code)) {
      endLocalSession();
      S.notice = err;
      const g = markSignedOut();
      if (channel) channel.postMessage({ type: "signedOut", code: err.code, gen: g });
      S.wanted = location.hash && !isPublicRoute(parseRoute()) ? location.hash : S.wanted;
      go("#/sign-in");
      return;
    }
    // Every caller of one failed refresh reports the same error: it gets one retry.
    if (err && err === refreshError) return;
    refreshError = err || new ApiError("INTERNAL");
    refreshFailures++;
    const wait = retryDelay(refreshError, refreshFailures, 1000, 30000);
    refreshRetryAt = Date.now() + wait;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(retryRefresh, wait);
    setRefreshRetrying(true);
  }
  function retryRefresh() {
    clearTimeout(refreshTimer);
    if (S.session) refreshSession(undefined, true).catch(sessionGone);
  }
  function setRefreshRetrying(on) {
    if (S.refreshRetrying === on) return;
    S.refreshRetrying = on;
    renderLiveState();
  }

  function endLocalSession() {
    clearTimeout(refreshTimer);
    refreshError = null;
    refreshFailures = 0;
    refreshRetryAt = 0;
    S.refreshRetrying = false;
    S.session = null;
    S.me = null;
    S.operators = null;
    S.inboxes = null;
    S.unread = new Map();
    S.unreadTotal = 0;
    if (S.live) { S.live.stop(); S.live = null; }
    if (S.view && S.view.unmount) S.view.unmount();
    S.view = null;
    revokeBlobs();
  }

  // --- signing out ------------------------------------------------------------------------
  // Answers after which the server holds no session for this browser: nothing left to end.
  const NOTHING_TO_END = ["SESSION_ENDED", "CSRF_REJECTED"];
  const SIGN_OUT_TIMEOUT = 10000;
  let signOutTimer = null;
  let signOutTries = 0;
  let signOutError = null;
  let signOutBusy = false;

  function withTimeout(promise, ms) {
    let timer;
    const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new ApiError("NETWORK")), ms); });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  }

  /** One signOut mutation: null once the server has nothing left to end, else the error. */
  async function signOutOnServer() {
    try {
      await withTimeout(anon("mutation { signOut }", {}, true), SIGN_OUT_TIMEOUT);
      return null;
    } catch (e) {
      return e && NOTHING_TO_END.includes(e.code) ? null : (e || new ApiError("NETWORK"));
    }
  }

  /**
   * Signs out, holding the refresh lock so that no refresh (here or in another tab) lands in
   * between. If the server does not confirm, this page is signed out all the same, a flag
   * keeps reloads from refreshing back in, and the sign-out is retried until it gets through.
   */
  function signOut() {
    return withLock(async () => {
      const g = markSignedOut();
      setSignOutPending(true); // before the request: a tab closed meanwhile leaves the flag
      const failed = await signOutOnServer();
      if (!failed) setSignOutPending(false);
      endLocalSession();
      S.notice = { key: failed ? "session.signOutPending" : "session.signedOut" };
      if (channel) channel.postMessage({ type: "signedOut", gen: g, pending: !!failed });
      go("#/sign-in");
      return failed;
    }).then((failed) => { if (failed) retrySignOutLater(failed); });
  }

  function retrySignOutLater(err) {
    signOutError = err;
    signOutTries++;
    clearTimeout(signOutTimer);
    signOutTimer = setTimeout(retrySignOut, retryDelay(err, signOutTries, 2000, 60000));
  }

  /** One more try of a sign-out the server has not confirmed. */
  async function retrySignOut() {
    clearTimeout(signOutTimer);
    signOutTimer = null;
    if (signOutBusy) return;
    signOutBusy = true;
    let result;
    try {
      result = await withLock(async () => {
        // Confirmed by another tab, or someone signed in since (a new cookie: keep it).
        if (!signOutPending()) return "stop";
        const err = await signOutOnServer();
        if (err) return err;
        setSignOutPending(false);
        return "done";
      });
    } catch (e) {
      result = e || new ApiError("NETWORK");
    } finally {
      signOutBusy = false;
    }
    if (result === "stop") { cancelSignOutRetry(); return; }
    if (result !== "done") { retrySignOutLater(result); return; }
    signOutConfirmed();
    if (channel) channel.postMessage({ type: "signOutDone" });
  }

  function cancelSignOutRetry() {
    clearTimeout(signOutTimer);
    signOutTimer = null;
    signOutTries = 0;
    signOutError = null;
  }

  /** The sign-out got through: say so where it was said that it had not. */
  function signOutConfirmed() {
    cancelSignOutRetry();
    if (S.session || !S.notice || S.notice.key !== "session.signOutPending") return;
    S.notice = { key: "session.signedOut" };
    const el = document.querySelector('[data-test="sign-in-notice"]');
    if (el) el.textContent = t("session.signedOut");
  }

  if (channel) {
    channel.onmessage = (ev) => {
      const m = ev.data || {};
      const g = Number(m.gen) || 0;
      noteGen(g);
      if (m.type === "session" && m.session) {
        // Not newer than this tab's last sign-out: a refresh that finished before it, late.
        if (g <= outGen) return;
        const had = !!S.session;
        if (!had) { cancelSignOutRetry(); signOutPendingInMemory = false; }
        adoptSession(m.session, false);
        if (!had) { S.notice = null; route(); }
      } else if (m.type === "signedOut") {
        outGen = Math.max(outGen, g);
        // Unconfirmed: this tab helps retrying (the flag tells the tabs when it is done).
        if (m.pending && !signOutTimer && !signOutBusy) retrySignOutLater(new ApiError("NETWORK"));
        if (S.session) {
          endLocalSession();
          S.notice = m.code ? new ApiError(m.code) : { key: m.pending ? "session.signOutPending" : "session.signedOut" };
          go("#/sign-in");
        }
      } else if (m.type === "signOutDone") {
        signOutConfirmed();
      }
    };
  }
  // Back online: the retries waiting on the network go now (a server's retryAfter still holds).
  window.addEventListener("online", () => {
    if (S.session && refreshError && refreshError.code === "NETWORK") retryRefresh();
    if (signOutTimer && signOutError && signOutError.code === "NETWORK") retrySignOut();
  });
  // A laptop waking up: the timer may have slept past the expiry.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && S.session && S.session.expiresAt - Date.now() < 60000) refreshSession().catch(sessionGone);
  });

  // --- attachments ------------------------------------------------------------------------
  /** POST /attachments?conversationId=…&name=…, with the bearer token. */
  async function upload(conversationId, file) {
    const url = "/attachments?conversationId=" + encodeURIComponent(conversationId) + "&name=" + encodeURIComponent(file.name || "file");
    const send = (token) => fetch(url, { method: "POST", headers: { authorization: "Bearer " + token, "content-type": file.type || "application/octet-stream" }, body: file });
    let res;
    try {
      res = await send(S.session.accessToken);
      if (res.status === 401) { await refreshSession(S.session.accessToken); res = await send(S.session.accessToken); }
    } catch (e) { if (e instanceof ApiError) throw e; throw new ApiError("NETWORK"); }
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const code = body && (body.code || (body.errors && body.errors[0] && body.errors[0].extensions && body.errors[0].extensions.code));
      throw new ApiError(code || (res.status === 413 ? "ATTACHMENT_TOO_LARGE" : res.status === 415 ? "UNSUPPORTED_ATTACHMENT_TYPE" : "DEFAULT"), body || {});
    }
    return body;
  }

  // GET /attachments/{id} needs the bearer token (routes.rs: anonymous callers are refused),
  // so files are fetched as blobs and shown through object URLs, kept per attachment id.
  const blobs = new Map();
  function attachmentBlob(att) {
    if (blobs.has(att.id)) return blobs.get(att.id);
    const p = (async () => {
      const get = (token) => fetch(att.url || ("/attachments/" + att.id), { headers: { authorization: "Bearer " + token } });
      let res = await get(S.session.accessToken);
      if (res.status === 401) { await refreshSession(S.session.accessToken); res = await get(S.session.accessToken); }
      if (!res.ok) throw new ApiError(res.status === 404 ? "ATTACHMENT_NOT_FOUND" : "DEFAULT");
      return URL.createObjectURL(await res.blob());
    })();
    p.catch(() => blobs.delete(att.id));
    blobs.set(att.id, p);
    return p;
  }
  function revokeBlobs() {
    for (const p of blobs.values()) p.then((u) => URL.revokeObjectURL(u), () => {});
    blobs.clear();
  }

  // --- live: graphql-transport-ws ---------------------------------------------------------
  /** The subscription socket, with reconnects (backoff with jitter) and re-subscription. */
  class Live {
    constructor() {
      this.subs = new Map();     // id -> { query, variables(), next, onRestart }
      this.ws = null;
      this.ready = false;
      this.failures = 0;         // reset once a socket has stayed up for STABLE_MS
      this.upAt = 0;             // when the current socket was acknowledged
      this.stopped = false;
      this.seq = 0;
      this.heardAt = Date.now();
      this.watchdog = setInterval(() => {
        if (this.ws && this.ready && Date.now() - this.heardAt > 50000) this.drop();
      }, 10000);
      this.wake = () => { if (!this.stopped && !this.ws) { clearTimeout(this.timer); this.failures = 0; this.connect(); } };
      window.addEventListener("online", this.wake);
      this.connect();
    }
    connect() {
      if (this.stopped || !S.session) return;
      let ws;
      try { ws = new WebSocket(WS_URL, "graphql-transport-ws"); } catch (e) { this.retry(); return; }
      this.ws = ws;
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer " + (S.session ? S.session.accessToken : "") } }));
      };
      ws.onmessage = (ev) => {
        this.heardAt = Date.now();
        let msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        if (msg.type === "connection_ack") {
          const again = this.everUp;
          this.ready = true;
          this.everUp = true;
          this.upAt = Date.now();
          setLive(true);
          for (const [id, sub] of this.subs) {
            this.send(id);
            if (again && sub.onRestart) sub.onRestart();
          }
        } else if (msg.type === "ping") {
          ws.send(JSON.stringify({ type: "pong" }));
        } else if (msg.type === "next") {
          const sub = this.subs.get(msg.id);
          if (sub && msg.payload && msg.payload.data) {
            try { sub.next(msg.payload.data); } catch (e) { console.error("[console] a subscription handler failed", e); }
          }
        } else if (msg.type === "error") {
          console.warn("[console] subscription refused", msg.id, msg.payload);
        }
      };
      ws.onclose = (ev) => {
        const was = this.ready;
        this.ready = false;
        this.ws = null;
        this.settle();
        if (this.stopped) return;
        if (was) setLive(false);
        if (ev.code === 4401) {
          // The token expired or was refused: refresh, then reconnect with the new one, with
          // backoff all the same (a server refusing every token must not be hammered). A
          // refresh that failed for a passing reason is retried by sessionGone; the socket
          // keeps trying meanwhile.
          refreshSession(S.session && S.session.accessToken).then(() => this.retry(), (err) => {
            sessionGone(err);
            if (S.session) this.retry();
          });
          return;
        }
        if (ev.code === 4403) { this.stopped = true; return; }
        // 1013 "try again later" (the session could not be checked just now), and anything
        // else: reconnect with backoff; the token is not the problem, so no refresh.
        this.retry();
      };
    }
    drop() {
      const dead = this.ws;
      if (!dead) return;
      dead.onclose = dead.onmessage = dead.onopen = null;
      try { dead.close(); } catch (e) { /* gone */ }
      this.ws = null;
      this.ready = false;
      this.settle();
      setLive(false);
      this.retry();
    }
    /** A socket ended: if it had stayed up long enough, the backoff starts over. */
    settle() {
      if (this.upAt && Date.now() - this.upAt >= Live.STABLE_MS) this.failures = 0;
      this.upAt = 0;
    }
    retry() {
      if (this.stopped) return;
      this.failures++;
      const delay = Math.min(15000, 400 * Math.pow(2, this.failures - 1)) * (0.75 + Math.random() / 2);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.connect(), delay);
    }
    send(id) {
      const sub = this.subs.get(id);
      if (!sub || !this.ready || !this.ws) return;
      this.ws.send(JSON.stringify({ id, type: "subscribe", payload: { query: sub.query, variables: sub.variables() } }));
    }
    /** Subscribes; returns the function that ends the subscription. `onRestart`: called after a reconnect. */
    subscribe(query, variables, next, onRestart) {
      const id = "s" + (++this.seq);
      this.subs.set(id, { query, variables: typeof variables === "function" ? variables : () => variables || {}, next, onRestart });
      this.send(id);
      return () => {
        if (!this.subs.delete(id)) return;
        if (this.ready && this.ws) try { this.ws.send(JSON.stringify({ id, type: "complete" })); } catch (e) { /* closed */ }
      };
    }
    stop() {
      this.stopped = true;
      clearInterval(this.watchdog);
      clearTimeout(this.timer);
      window.removeEventListener("online", this.wake);
      if (this.ws) try { this.ws.close(1000); } catch (e) { /* closed */ }
      this.ws = null;
    }
  }

  Live.STABLE_MS = 20000;

  function setLive(up) {
    S.liveUp = up;
    renderLiveState();
  }
  /** The quiet "reconnecting" line: the socket is down, or a refresh is being retried. */
  function liveOk() { return S.liveUp && !S.refreshRetrying; }
  function renderLiveState() {
    const el = $("#live-state");
    if (el) { el.hidden = liveOk(); el.textContent = liveOk() ? "" : t("inbox.reconnecting"); }
  }
  // ---------------------------------------------------------------------------------------
  // Router: hash routes
  // ---------------------------------------------------------------------------------------
  const PUBLIC = ["sign-in", "invitation", "reset-password", "forgot-password"];

  function parseRoute() {
    const raw = location.hash.replace(/^#\/?/, "");
    const q = raw.indexOf("?");
    const path = q >= 0 ? raw.slice(0, q) : raw;
    return {
      parts: path.split("/").filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } }),
      query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "")
    };
  }
  function isPublicRoute(r) { return PUBLIC.includes(r.parts[0]); }
  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }
  window.addEventListener("hashchange", () => route());

  function route() {
    const r = parseRoute();
    document.documentElement.lang = S.locale;
    if (isPublicRoute(r)) {
      if (S.session && r.parts[0] === "sign-in") { go(S.wanted || landing()); S.wanted = null; return; }
      renderPublic(r);
      return;
    }
    if (!S.session) {
      if (location.hash && location.hash !== "#/" && location.hash !== "#") S.wanted = location.hash;
      go("#/sign-in");
      return;
    }
    if (!r.parts.length) { go(landing()); return; }
    ensureShell();
    mountView(r);
  }

  // ---------------------------------------------------------------------------------------
  // Start-up and signing in
  // ---------------------------------------------------------------------------------------
  const ME_FIELDS = "id name roles email status branchId capacity telegramLinked";

  async function boot() {
    const root = $("#app");
    clear(root).appendChild(h("div", { class: "splash", "data-test": "loading" }, t("app.loading")));
    const r = parseRoute();
    // A sign-out the server has not confirmed: no refresh (it would sign the next person in
    // with the cookie that is still alive); the sign-out is tried again instead.
    const pendingSignOut = signOutPending();
    if (pendingSignOut) {
      S.notice = { key: "session.signOutPending" };
      retrySignOut();
    }
    // A reload keeps you signed in: the refresh cookie gives a new access token.
    if (!pendingSignOut && csrfToken() && !(isPublicRoute(r) && r.parts[0] !== "sign-in")) {
      try {
        await refreshSession();
        await startSession();
      } catch (e) {
        S.session = null;
        // A plain "no session" at start-up needs no sentence; the others say what happened.
        if (e.code !== "SESSION_ENDED" && e.code !== "CSRF_REJECTED") S.notice = e;
      }
    }
    route();
  }

  /** After sign-in or a refresh at start-up: who I am, the socket, the shared lists. */
  async function startSession() {
    try {
      const data = await gql("{ me { " + ME_FIELDS + " } }");
      if (data.me) S.me = data.me;
    } catch (e) { console.warn("[console] me failed", e); }
    if (!S.live) S.live = new Live();
    const loads = [];
    if (!isAuditor() || works() || hasRole("ANALYST")) loads.push(gql("{ inboxes { id title branchId active color } }").then((d) => { S.inboxes = d.inboxes; }).catch(() => { S.inboxes = []; }));
    if (seesTeam()) loads.push(loadOperators());
    if (works()) {
      loads.push(gql("{ unreadCounts { total conversations { conversationId unread } } }").then((d) => {
        S.unreadTotal = d.unreadCounts.total;
        S.unread = new Map(d.unreadCounts.conversations.map((c) => [c.conversationId, c.unread]));
        renderUnreadTotal();
      }).catch(() => {}));
      S.live.subscribe("subscription { unreadChanged { conversationId unread total } }", {}, (d) => onUnread(d.unreadChanged));
    }
    await Promise.all(loads);
  }

  function loadOperators() {
    return gql("{ operators { id name roles email status branchId capacity load active invitationPending telegramLinked } }")
      .catch(() => gql("{ operators { id name roles email status branchId capacity load telegramLinked } }"))
      .then((d) => { S.operators = d.operators; })
      .catch(() => { S.operators = S.operators || []; });
  }

  /**
   * The sign-in mutations set new cookies: they run under the refresh lock, so that a
   * sign-out being retried cannot land after them and end the new session.
   */
  function signInRequest(query, variables) {
    return withLock(async () => {
      const d = await anon(query, variables);
      setSignOutPending(false); // the cookie an unconfirmed sign-out was about is replaced
      return d;
    });
  }

  async function afterSignIn(session) {
    S.notice = null;
    // An explicit sign-in: newer than every sign-out (other tabs adopt it), and the end of an
    // unconfirmed sign-out (the refresh cookie it was about is replaced).
    setSignOutPending(false);
    cancelSignOutRetry();
    nextGen();
    adoptSession(session, true);
    await startSession();
    const target = S.wanted && !isPublicRoute({ parts: S.wanted.replace(/^#\/?/, "").split("/") }) ? S.wanted : landing();
    S.wanted = null;
    go(target);
  }

  // ---------------------------------------------------------------------------------------
  // Public pages: sign-in, invitation, forgot and reset password
  // ---------------------------------------------------------------------------------------
  function languageSelect() {
    return h("label", { class: "lang" },
      h("span", { class: "sr-only" }, t("header.language")),
      select({ "data-test": "language-select", "aria-label": t("header.language"), onchange: (ev) => setLocale(ev.target.value) },
        LOCALES.map((l) => [l, TEXTS[l]["lang." + l]]), S.locale));
  }

  function setLocale(l) {
    if (!TEXTS[l]) return;
    S.locale = l;
    try { localStorage.setItem(LOCALE_KEY, l); } catch (e) { /* private mode */ }
    document.documentElement.lang = l;
    // Everything is drawn again in the new language; the views keep their data.
    shellBuiltFor = null;
    if (S.view && S.view.unmount) S.view.unmount();
    S.view = null;
    route();
  }

  function publicFrame(title, testId, ...body) {
    const root = $("#app");
    shellBuiltFor = null;
    if (S.view && S.view.unmount) { S.view.unmount(); S.view = null; }
    clear(root).appendChild(h("div", { class: "public" },
      h("div", { class: "public-top" }, languageSelect()),
      h("main", { class: "card", "data-test": testId },
        h("div", { class: "brand-big" }, h("span", { class: "logo", "aria-hidden": "true" }, "S"), t("app.name")),
        h("h1", {}, title),
        body)));
    document.title = title + " · " + t("app.name");
    const first = root.querySelector("input");
    if (first) first.focus();
  }

  function passwordInput(name, testId, autocomplete) {
    return h("input", { type: "password", name, required: true, minlength: String(MIN_PASSWORD), autocomplete: autocomplete || "new-password", "data-test": testId, "aria-describedby": name + "-hint" });
  }

  function renderPublic(r) {
    const page = r.parts[0];
    if (page === "sign-in") return renderSignIn();
    if (page === "forgot-password") return renderForgot();
    const token = r.query.get("token");
    if (page === "invitation") return renderSetPassword("invitation", token);
    if (page === "reset-password") return renderSetPassword("reset", token);
  }

  function renderSignIn() {
    const err = errorBox("sign-in-error");
    const email = h("input", { type: "email", name: "email", required: true, autocomplete: "username", "data-test": "sign-in-email" });
    const password = h("input", { type: "password", name: "password", required: true, autocomplete: "current-password", "data-test": "sign-in-password" });
    const submit = h("button", { type: "submit", class: "primary wide", "data-test": "sign-in-submit" }, t("signIn.submit"));
    const notice = S.notice;
    // A notice is a text, a text key ({ key }: drawn in the current language) or an error.
    const plain = notice && (typeof notice === "string" || (!(notice instanceof ApiError) && notice.key));
    const noticeText = !notice ? "" : typeof notice === "string" ? notice : plain ? t(notice.key) : sentence(notice);
    const noticeEl = notice ? h("p", { class: plain ? "notice" : "error", role: "status", "data-test": plain ? "sign-in-notice" : "sign-in-error" }, noticeText) : null;
    const form = h("form", {
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (noticeEl) noticeEl.remove();
        S.notice = null;
        if (!email.value.trim()) { err.show(sentence(new ApiError("EMPTY_FIELD", { field: "email" }))); email.focus(); return; }
        if (!password.value) { err.show(sentence(new ApiError("EMPTY_FIELD", { field: "password" }))); password.focus(); return; }
        submit.textContent = t("signIn.busy");
        await act(submit, async () => {
          const d = await signInRequest("mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) { " + SESSION_FIELDS + " } }", { email: email.value.trim(), password: password.value });
          await afterSignIn(d.signIn);
        }, err);
        if (submit.isConnected) { submit.textContent = t("signIn.submit"); password.select(); }
      }
    },
      noticeEl,
      field(t("field.email"), email),
      field(t("field.password"), password),
      err,
      submit,
      h("p", { class: "links" }, h("a", { href: "#/forgot-password", "data-test": "forgot-password-link" }, t("signIn.forgot"))));
    publicFrame(t("signIn.title"), "sign-in", form);
  }

  function renderForgot() {
    const err = errorBox("forgot-error");
    const email = h("input", { type: "email", name: "email", required: true, autocomplete: "username", "data-test": "forgot-email" });
    const submit = h("button", { type: "submit", class: "primary wide", "data-test": "forgot-submit" }, t("forgot.submit"));
    const done = h("p", { class: "notice", role: "status", "data-test": "forgot-sent", hidden: true });
    const form = h("form", {
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (!email.value.trim()) { err.show(sentence(new ApiError("EMPTY_FIELD", { field: "email" }))); return; }
        await act(submit, async () => {
          await anon("mutation($email: String!) { requestPasswordReset(email: $email) }", { email: email.value.trim() });
          done.textContent = t("forgot.sent");
          done.hidden = false;
        }, err);
      }
    },
      h("p", {}, t("forgot.intro")),
      field(t("field.email"), email),
      err, done, submit,
      h("p", { class: "links" }, h("a", { href: "#/sign-in", "data-test": "back-to-sign-in" }, t("forgot.back"))));
    publicFrame(t("forgot.title"), "forgot-password", form);
  }

  /** The invitation (`kind` "invitation") and reset (`kind` "reset") pages: a new password, twice. */
  function renderSetPassword(kind, token) {
    const err = errorBox(kind + "-error");
    const links = h("p", { class: "links" }, h("a", { href: "#/sign-in", "data-test": "back-to-sign-in" }, t("forgot.back")));
    if (!token) {
      const missing = h("p", { class: "error", role: "alert", "data-test": kind + "-error" }, t("link.missingToken"));
      publicFrame(t(kind + ".title"), kind, missing, links);
      return;
    }
    const pw = passwordInput("password", kind + "-password");
    const pw2 = passwordInput("password2", kind + "-password-repeat");
    pw2.setAttribute("aria-describedby", "");
    const submit = h("button", { type: "submit", class: "primary wide", "data-test": kind + "-submit" }, t(kind + ".submit"));
    const hint = t("password.hint", { n: MIN_PASSWORD });
    const pwField = field(t("field.password"), pw, hint);
    pwField.querySelector(".hint").id = "password-hint";
    pwField.querySelector(".hint").setAttribute("data-test", "password-hint");
    const form = h("form", {
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.hide();
        if (pw.value.length < MIN_PASSWORD) { err.show(t("password.short", { n: MIN_PASSWORD })); pw.focus(); return; }
        if (pw.value !== pw2.value) { err.show(t("password.mismatch")); pw2.focus(); return; }
        await act(submit, async () => {
          const q = kind === "invitation"
            ? "mutation($token: String!, $password: String!) { acceptInvitation(token: $token, password: $password) { " + SESSION_FIELDS + " } }"
            : "mutation($token: String!, $password: String!) { resetPassword(token: $token, password: $password) { " + SESSION_FIELDS + " } }";
          const d = await signInRequest(q, { token, password: pw.value });
          S.wanted = null;
          await afterSignIn(kind === "invitation" ? d.acceptInvitation : d.resetPassword);
        }, err);
      }
    },
      h("p", {}, t(kind + ".intro")),
      pwField,
      field(t("field.passwordRepeat"), pw2),
      h("label", { class: "check" }, h("input", { type: "checkbox", "data-test": "show-password", onchange: (ev) => { pw.type = pw2.type = ev.target.checked ? "text" : "password"; } }), t("password.show")),
      err, submit, links);
    publicFrame(t(kind + ".title"), kind, form);
  }

  // ---------------------------------------------------------------------------------------
  // The shell: header, nav, main
  // ---------------------------------------------------------------------------------------
  let shellBuiltFor = null;

  function navItems() {
    const items = [];
    if (works()) items.push(["inbox", "#/inbox", t("nav.inbox")]);
    if (hasRole("ADMIN", "MANAGER", "ANALYST")) items.push(["reports", "#/reports", t("nav.reports")]);
    if (isAuditor()) items.push(["audit", "#/audit", t("nav.audit")]);
    if (hasRole("ADMIN")) items.push(["admin", "#/admin/inboxes", t("nav.admin")]);
    items.push(["profile", "#/profile", t("nav.profile")]);
    return items;
  }

  function ensureShell() {
    const key = S.locale + "|" + (S.me && S.me.id) + "|" + roles().join(",");
    if (shellBuiltFor === key && $("#main")) return;
    shellBuiltFor = key;
    if (S.view && S.view.unmount) S.view.unmount();
    S.view = null;
    const status = select({ "data-test": "status-select", "aria-label": t("header.status"), class: "status-select", onchange: (ev) => setMyStatus(ev.target.value, ev.target) },
      ["ONLINE", "AWAY", "BUSY", "OFFLINE"].map((s) => [s, t("opStatus." + s)]), S.me && S.me.status);
    const statusWrap = h("label", { class: "status-wrap", "data-status": S.me && S.me.status },
      h("span", { class: "dot", "aria-hidden": "true" }), h("span", { class: "sr-only" }, t("header.status")), status);
    const canSetStatus = works();
    const header = h("header", { class: "topbar", role: "banner" },
      h("a", { class: "skip", href: "#main", onclick: (ev) => { ev.preventDefault(); $("#main").focus(); } }, t("header.skip")),
      h("a", { class: "brand", href: landing(), "data-test": "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "S"), t("app.name")),
      h("p", { id: "live-state", class: "live-state", role: "status", hidden: liveOk(), "data-test": "live-state" }, liveOk() ? "" : t("inbox.reconnecting")),
      h("div", { class: "spacer" }),
      works() ? h("a", { class: "unread-total", href: "#/inbox/mine", id: "unread-total", "data-test": "unread-total", hidden: !S.unreadTotal, "aria-label": t("header.unread", { n: S.unreadTotal }) }, String(S.unreadTotal)) : null,
      canSetStatus ? statusWrap : null,
      languageSelect(),
      h("a", { class: "me", href: "#/profile", "data-test": "operator-name" }, S.me ? S.me.name : ""),
      h("button", { type: "button", class: "ghost", "data-test": "sign-out", onclick: (ev) => act(ev.currentTarget, signOut) }, t("header.signOut")));
    const nav = h("nav", { class: "sidenav", "aria-label": t("header.menu") },
      h("ul", {}, navItems().map(([name, href, label]) =>
        h("li", {}, h("a", { href, "data-nav": name, "data-test": "nav-" + name }, label, name === "inbox" ? h("span", { class: "badge nav-badge", "data-test": "nav-unread", hidden: !S.unreadTotal }, String(S.unreadTotal)) : null)))));
    const main = h("main", { id: "main", tabindex: "-1" });
    clear($("#app")).appendChild(h("div", { class: "shell" }, header, nav, main));
  }

  function markNav(name) {
    for (const a of document.querySelectorAll(".sidenav a")) {
      if (a.dataset.nav === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
  }

  async function setMyStatus(status, el) {
    const before = S.me.status;
    try {
      await gql("mutation($s: OperatorStatus!) { setOperatorStatus(status: $s) { changed } }", { s: status });
      S.me.status = status;
      if (el) el.closest(".status-wrap").dataset.status = status;
    } catch (e) {
      toast(e);
      if (el) el.value = before;
    }
  }

  function renderUnreadTotal() {
    const n = S.unreadTotal;
    const a = $("#unread-total");
    if (a) { a.textContent = String(n); a.hidden = !n; a.setAttribute("aria-label", t("header.unread", { n })); }
    const b = $(".nav-badge");
    if (b) { b.textContent = String(n); b.hidden = !n; }
    document.title = (n ? "(" + n + ") " : "") + (document.title.replace(/^\(\d+\)\s*/, "") || t("app.name"));
  }

  function onUnread(change) {
    if (!change) return;
    S.unreadTotal = change.total;
    if (change.conversationId) {
      const before = S.unread.get(change.conversationId) || 0;
      if (change.unread) S.unread.set(change.conversationId, change.unread); else S.unread.delete(change.conversationId);
      if (change.unread > before) newContactMessage(change.conversationId);
      if (S.view && S.view.onUnread) S.view.onUnread(change.conversationId, change.unread);
    }
    renderUnreadTotal();
  }

  const VIEWS = {};
  function mountView(r) {
    const name = r.parts[0] === "c" ? "inbox" : r.parts[0];
    const View = VIEWS[name];
    if (!View) { go(landing()); return; }
    // An auditor who may not open threads reads a conversation's history in Audit.
    if (r.parts[0] === "c" && r.parts[1] && !works() && isAuditor()) { go("#/audit/" + r.parts[1]); return; }
    if (!View.allowed()) { go(landing()); return; }
    markNav(name);
    if (S.view && S.view.name === name) { S.view.update(r); return; }
    if (S.view && S.view.unmount) S.view.unmount();
    const main = clear($("#main"));
    S.view = View.mount(main, r);
    S.view.name = name;
  }
  // ---------------------------------------------------------------------------------------
  // Inbox: tabs, filters, search, keyset paging, live rows
  // ---------------------------------------------------------------------------------------
  const TABS = ["MINE", "OPEN", "CLOSED", "ALL"];
  const STATUSES = ["OPEN", "IN_PROGRESS", "WAITING_FOR_USER", "PENDING_CALLBACK", "RESOLVED", "CLOSED"];
  const PRIORITIES = ["LOW", "MEDIUM", "HIGH", "URGENT"];
  const SOURCES = ["WEB", "TELEGRAM", "CALLBACK", "API"];
  const PAGE = 30;
  const ROW_FIELDS = "id inboxId status source subject contact { id name email phone } lastActivityAt lastMessage { id body senderKind } priority tags assigneeId assigneeName unreadCount branchId";

  // Kept across visits of the inbox (and a language switch).
  const INBOX = { tab: "MINE", filter: { status: "", priority: "", inboxId: "", assigneeId: "", source: "", tag: "", branch: "", search: "" } };

  function tabFromRoute(r) {
    if (r.parts[0] === "inbox" && r.parts[1]) {
      const tab = r.parts[1].toUpperCase();
      if (TABS.includes(tab)) return tab;
    }
    return INBOX.tab;
  }

  /** InboxFilter from the filter bar; empty fields are left out. */
  function filterInput(f) {
    const out = {};
    if (f.status) out.statuses = [f.status];
    if (f.priority) out.priorities = [f.priority];
    if (f.inboxId) out.inboxIds = [f.inboxId];
    if (f.assigneeId) out.assigneeIds = [f.assigneeId];
    if (f.source) out.sources = [f.source];
    if (f.tag.trim()) out.tags = [f.tag.trim().toLowerCase()];
    if (f.branch === "HEAD") out.headOffice = true;
    else if (f.branch) out.branchIds = [f.branch];
    if (f.search.trim()) out.search = f.search.trim().slice(0, 200);
    return out;
  }

  /** Inbox cursors are `<µs>.<uuid>`, listed newest first: -1 when a comes before b. */
  function compareCursor(a, b) {
    const [am, ai] = a.split(".");
    const [bm, bi] = b.split(".");
    const an = Number(am), bn = Number(bm);
    if (an !== bn) return an > bn ? -1 : 1;
    if (ai === bi) return 0;
    return ai > bi ? -1 : 1;
  }
  function cursorOf(c) { return (Date.parse(c.lastActivityAt) * 1000) + "." + c.id; }

  function branchesKnown() {
    const ids = new Set();
    for (const i of S.inboxes || []) if (i.branchId) ids.add(i.branchId);
    for (const o of S.operators || []) if (o.branchId) ids.add(o.branchId);
    return [...ids];
  }

  function contactName(c) { return (c.contact && (c.contact.name || c.contact.email || c.contact.phone)) || t("inbox.visitor"); }

  function previewText(c) {
    const m = c.lastMessage;
    if (!m) return t("inbox.noMessages");
    const body = (m.body || "").replace(/\s+/g, " ").trim() || t("inbox.attachment");
    if (m.senderKind === "OPERATOR") return t("sender.operator") + ": " + body;
    return body;
  }

  VIEWS.inbox = {
    allowed: works,
    mount(main, r) {
      const v = {
        tab: tabFromRoute(r), rows: new Map(), endCursor: null, hasNext: false, loaded: false, pending: [],
        loading: false, generation: 0, unsub: null, panel: null, counts: null
      };
      const listEl = h("ul", { class: "rows", "data-test": "inbox-list", "aria-label": t("inbox.title") });
      const emptyEl = h("p", { class: "empty", "data-test": "inbox-empty", hidden: true }, t("inbox.empty"));
      const moreBtn = h("button", { type: "button", class: "ghost wide", "data-test": "inbox-load-more", hidden: true, onclick: () => loadPage() }, t("inbox.loadMore"));
      const loadingEl = h("p", { class: "muted center", "data-test": "inbox-loading", hidden: true }, t("inbox.loading"));
      const listErr = errorBox("inbox-error");
      const tabButtons = {};
      const tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": t("inbox.tabs") }, TABS.map((tab) => {
        const count = h("span", { class: "tab-count", "data-test": "inbox-tab-count-" + tab.toLowerCase() });
        const a = h("a", { href: "#/inbox/" + tab.toLowerCase(), role: "tab", class: "tab", "data-test": "inbox-tab-" + tab.toLowerCase(), "aria-selected": String(tab === v.tab) },
          h("span", { class: "tab-label" }, t("tab." + tab)), count);
        tabButtons[tab] = { a, count };
        return a;
      }));

      // --- filters ---
      const f = INBOX.filter;
      const search = h("input", { type: "search", value: f.search, placeholder: t("filter.searchPlaceholder"), "aria-label": t("filter.search"), "data-test": "inbox-search", maxlength: "200" });
      const restartSoon = debounce(() => restart(), 300);
      search.addEventListener("input", () => { f.search = search.value; restartSoon(); });
      const sel = (key, label, anyLabel, options, test) => {
        const s = select({ "aria-label": label, "data-test": test, onchange: () => { f[key] = s.value; restart(); syncClear(); } }, [["", anyLabel]].concat(options), f[key]);
        return s;
      };
      const filterEls = [
        sel("status", t("filter.status"), t("filter.anyStatus"), STATUSES.map((s) => [s, t("convStatus." + s)]), "filter-status"),
        sel("priority", t("filter.priority"), t("filter.anyPriority"), PRIORITIES.map((p) => [p, t("priority." + p)]), "filter-priority"),
        (S.inboxes || []).length > 1 ? sel("inboxId", t("filter.inbox"), t("filter.anyInbox"), S.inboxes.map((i) => [i.id, i.title]), "filter-inbox") : null,
        seesTeam() && S.operators && S.operators.length ? sel("assigneeId", t("filter.assignee"), t("filter.anyAssignee"), S.operators.map((o) => [o.id, o.name]), "filter-assignee") : null,
        sel("source", t("filter.source"), t("filter.anySource"), SOURCES.map((s) => [s, t("source." + s)]), "filter-source"),
        branchesKnown().length ? sel("branch", t("filter.branch"), t("filter.anyBranch"), [["HEAD", t("filter.headOffice")]].concat(branchesKnown().map((b) => [b, t("details.branch") + " " + shortId(b)])), "filter-branch") : null
      ];
      const tagInput = h("input", { type: "text", value: f.tag, placeholder: t("filter.tagPlaceholder"), "aria-label": t("filter.tag"), "data-test": "filter-tag", class: "tag-filter" });
      tagInput.addEventListener("input", () => { f.tag = tagInput.value; restartSoon(); syncClear(); });
      const clearBtn = h("button", { type: "button", class: "link", "data-test": "filter-clear", onclick: () => {
        Object.keys(f).forEach((k) => { f[k] = ""; });
        search.value = ""; tagInput.value = "";
        filterBar.querySelectorAll("select").forEach((s) => { s.value = ""; });
        restart(); syncClear();
      } }, t("filter.clear"));
      const filterBar = h("div", { class: "filters" }, filterEls, tagInput, clearBtn);
      const syncClear = () => { clearBtn.hidden = !Object.values(f).some((x) => x); };
      syncClear();

      const listPane = h("section", { class: "list-pane", "aria-label": t("inbox.title") },
        h("div", { class: "list-head" }, tabBar, h("div", { class: "search-row" }, search), filterBar),
        listErr,
        h("div", { class: "list-scroll" }, listEl, emptyEl, loadingEl, moreBtn));
      const convPane = h("section", { class: "conv-pane", "data-test": "conversation-pane" });
      const root = h("div", { class: "inbox" }, listPane, convPane);
      main.appendChild(root);

      // Infinite scroll: the "load more" button also works by keyboard.
      const io = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting) && v.hasNext && !v.loading) loadPage();
      }, { root: listPane.querySelector(".list-scroll"), rootMargin: "200px" }) : null;
      if (io) io.observe(moreBtn);

      function setCounts(c) {
        if (!c) return;
        v.counts = c;
        for (const tab of TABS) tabButtons[tab].count.textContent = String(c[tab.toLowerCase()]);
      }

      function rowUnread(c) { return S.unread.has(c.id) ? S.unread.get(c.id) : c.unreadCount; }

      function rowContent(c) {
        const unread = rowUnread(c);
        const assignee = c.assigneeId ? (c.assigneeName || operatorName(c.assigneeId)) : t("inbox.unassigned");
        return [
          h("div", { class: "row-top" },
            h("span", { class: "row-name", "data-test": "row-name" }, contactName(c)),
            h("time", { class: "row-time", datetime: c.lastActivityAt, "data-test": "row-time", title: fmtDateTime(c.lastActivityAt) }, fmtTime(c.lastActivityAt))),
          h("div", { class: "row-preview", "data-test": "row-preview" }, previewText(c)),
          h("div", { class: "row-meta" },
            h("span", { class: "pill status-" + c.status, "data-test": "row-status" }, t("convStatus." + c.status)),
            c.priority !== "MEDIUM" ? h("span", { class: "pill prio-" + c.priority, "data-test": "row-priority" }, t("priority." + c.priority)) : h("span", { class: "pill prio-MEDIUM", "data-test": "row-priority" }, t("priority." + c.priority)),
            h("span", { class: "row-assignee", "data-test": "row-assignee" }, assignee),
            h("span", { class: "spacer" }),
            unread ? h("span", { class: "badge", "data-test": "unread-badge", "aria-label": t("inbox.unreadBadge", { n: unread }) }, String(unread)) : null)
        ];
      }

      function drawRow(row) {
        const c = row.conv;
        if (!row.el) {
          row.link = h("a", { class: "row", href: "#/c/" + c.id, "data-test": "inbox-row", "data-id": c.id });
          row.el = h("li", {}, row.link);
        }
        row.link.dataset.status = c.status;
        row.link.classList.toggle("unread", !!rowUnread(c));
        if (v.panel && v.panel.id === c.id) row.link.setAttribute("aria-current", "true"); else row.link.removeAttribute("aria-current");
        clear(row.link);
        append(row.link, rowContent(c));
      }

      /** Puts the row where its cursor says, among the loaded rows. */
      function place(row) {
        let before = null;
        for (const li of listEl.children) {
          const other = v.rows.get(li.firstChild.dataset.id);
          if (other && other !== row && compareCursor(row.cursor, other.cursor) < 0) { before = li; break; }
        }
        if (before) { if (row.el.nextSibling !== before) listEl.insertBefore(row.el, before); }
        else if (listEl.lastChild !== row.el) listEl.appendChild(row.el);
      }

      function upsert(conv, cursor) {
        cursor = cursor || cursorOf(conv);
        // A row sorting after the last loaded one lies beyond the loaded pages: the next page brings it.
        if (v.hasNext && v.endCursor && compareCursor(cursor, v.endCursor) > 0) { remove(conv.id); return; }
        let row = v.rows.get(conv.id);
        if (!row) { row = { conv, cursor }; v.rows.set(conv.id, row); }
        row.conv = Object.assign(row.conv || {}, conv);
        row.cursor = cursor;
        drawRow(row);
        place(row);
        syncEmpty();
        if (v.panel && v.panel.id === conv.id) v.panel.applyLive(conv);
      }

      function remove(id) {
        const row = v.rows.get(id);
        if (!row) return;
        v.rows.delete(id);
        row.el.remove();
        syncEmpty();
      }

      function syncEmpty() { emptyEl.hidden = !(v.loaded && v.rows.size === 0); moreBtn.hidden = !v.hasNext; }

      function onChange(ch) {
        if (!v.loaded) { v.pending.push(ch); return; }
        setCounts(ch.counts);
        if (ch.kind === "UPSERTED" && ch.conversation) upsert(ch.conversation, ch.cursor);
        else if (ch.kind === "REMOVED" && ch.conversationId) remove(ch.conversationId);
        else if (ch.kind === "RESYNC") reload();
      }

      async function loadPage() {
        if (v.loading) return;
        v.loading = true;
        const gen = v.generation;
        loadingEl.hidden = false;
        listErr.hide();
        try {
          const d = await gql("query($first: Int, $after: String, $tab: InboxTab!, $filter: InboxFilter) { inbox(first: $first, after: $after, tab: $tab, filter: $filter) { nodes { " + ROW_FIELDS + " } edges { cursor } pageInfo { hasNextPage endCursor } } }",
            { first: PAGE, after: v.endCursor, tab: v.tab, filter: filterInput(INBOX.filter) });
          if (gen !== v.generation) return;
          const conn = d.inbox;
          conn.nodes.forEach((c, i) => {
            const cursor = (conn.edges[i] && conn.edges[i].cursor) || cursorOf(c);
            let row = v.rows.get(c.id);
            if (!row) { row = { conv: c, cursor }; v.rows.set(c.id, row); }
            row.conv = c; row.cursor = cursor;
            drawRow(row);
            place(row);
          });
          v.endCursor = conn.pageInfo.endCursor || v.endCursor;
          v.hasNext = conn.pageInfo.hasNextPage;
          if (!v.loaded) {
            v.loaded = true;
            const queued = v.pending; v.pending = [];
            queued.forEach(onChange);
          }
          syncEmpty();
        } catch (e) {
          if (gen === v.generation) listErr.show(e);
        } finally {
          if (gen === v.generation) { v.loading = false; loadingEl.hidden = true; }
        }
      }

      function reload() {
        v.generation++;
        v.loading = false;
        v.rows.clear();
        clear(listEl);
        v.endCursor = null; v.hasNext = false; v.loaded = false;
        syncEmpty();
        loadPage();
        gql("query($filter: InboxFilter) { inboxCounts(filter: $filter) { mine open closed all } }", { filter: filterInput(INBOX.filter) }).then((d) => setCounts(d.inboxCounts)).catch(() => {});
      }

      /** Subscribe first, then load the list (a row changing in between is sent again). */
      function restart() {
        if (v.unsub) v.unsub();
        v.pending = [];
        const tab = v.tab, filter = filterInput(INBOX.filter);
        v.unsub = S.live ? S.live.subscribe(
          "subscription($tab: InboxTab!, $filter: InboxFilter) { inboxListChanged(tab: $tab, filter: $filter) { kind conversationId cursor conversation { " + ROW_FIELDS + " } counts { mine open closed all } } }",
          { tab, filter }, (d) => onChange(d.inboxListChanged), () => reload()) : null;
        reload();
      }

      function setTab(tab) {
        v.tab = tab; INBOX.tab = tab;
        for (const x of TABS) tabButtons[x].a.setAttribute("aria-selected", String(x === tab));
        restart();
      }

      function openConversation(id) {
        if (v.panel && v.panel.id === id) return;
        if (v.panel) v.panel.destroy();
        v.panel = null;
        clear(convPane);
        root.classList.toggle("has-conv", !!id);
        if (id) v.panel = new ConversationPanel(convPane, id);
        else convPane.appendChild(h("div", { class: "placeholder", "data-test": "inbox-pick" }, t("inbox.pick")));
        for (const row of v.rows.values()) if (row.link) {
          if (row.conv.id === id) row.link.setAttribute("aria-current", "true"); else row.link.removeAttribute("aria-current");
        }
      }

      // Keyboard: j/k (or Alt+↓/↑) move through the list, "/" searches.
      function onKey(ev) {
        const tag = (ev.target.tagName || "").toLowerCase();
        const typing = tag === "input" || tag === "textarea" || tag === "select" || ev.target.isContentEditable;
        if (ev.key === "/" && !typing) { ev.preventDefault(); search.focus(); return; }
        const down = (!typing && ev.key === "j") || (ev.altKey && ev.key === "ArrowDown");
        const up = (!typing && ev.key === "k") || (ev.altKey && ev.key === "ArrowUp");
        if (!down && !up) return;
        const links = [...listEl.querySelectorAll("a.row")];
        if (!links.length) return;
        ev.preventDefault();
        const at = links.findIndex((a) => a.getAttribute("aria-current") === "true");
        const next = links[Math.max(0, Math.min(links.length - 1, at < 0 ? 0 : at + (down ? 1 : -1)))];
        location.hash = next.getAttribute("href");
        next.focus();
      }
      document.addEventListener("keydown", onKey);

      const view = {
        update(r2) {
          if (r2.parts[0] === "inbox") {
            const tab = tabFromRoute(r2);
            if (tab !== v.tab) setTab(tab);
            openConversation(null);
            document.title = t("inbox.title") + " · " + t("app.name");
          } else if (r2.parts[0] === "c" && r2.parts[1]) {
            openConversation(r2.parts[1]);
          }
        },
        onUnread(id, unread) {
          const row = v.rows.get(id);
          if (row) { row.conv.unreadCount = unread; drawRow(row); }
        },
        unmount() {
          document.removeEventListener("keydown", onKey);
          if (v.unsub) v.unsub();
          if (io) io.disconnect();
          if (v.panel) v.panel.destroy();
          v.generation++;
        }
      };
      restart();
      view.update(r);
      return view;
    }
  };
  // ---------------------------------------------------------------------------------------
  // The conversation: thread, reply box, actions, details, SLA, call-backs, history
  // ---------------------------------------------------------------------------------------
  const CONV_FIELDS = "id inboxId status source subject contact { id name email phone } startedAt lastActivityAt messageCount priority tags resolvedAt closedAt reopenCount assigneeId assigneeName rating { scale score comment ratedAt } branchId transferable assignedAt openedAt unreadCount";
  const SLA_FIELDS = "sla { businessHoursOnly firstResponseDue firstResponseAt waitingSince nextResponseDue resolutionDue reopenCount responses { kind position operatorId waitedFrom respondedAt seconds deadline breached } resolutions { position resolvedAt seconds deadline breached } breaches { metric deadline metAt } }";
  const MSG_FIELDS = "id conversationId position sender { kind id } channel body postedAt internal readAt autoReply attachments { id name contentType size url }";
  const STATUS_ORDER = ["IN_PROGRESS", "WAITING_FOR_USER", "PENDING_CALLBACK", "RESOLVED", "CLOSED", "OPEN"];

  /** CONV-2: the moves an operator may make (domain/src/conversation/status_machine.rs). */
  function operatorMaySet(from, to) {
    switch (to) {
      case "OPEN": return from === "RESOLVED" || from === "CLOSED";
      case "IN_PROGRESS": return ["OPEN", "WAITING_FOR_USER", "PENDING_CALLBACK"].includes(from);
      case "WAITING_FOR_USER": return from === "OPEN" || from === "IN_PROGRESS";
      case "RESOLVED": return ["OPEN", "IN_PROGRESS", "WAITING_FOR_USER", "PENDING_CALLBACK"].includes(from);
      case "CLOSED": return from !== "CLOSED";
      case "PENDING_CALLBACK": return ["OPEN", "IN_PROGRESS", "WAITING_FOR_USER"].includes(from);
      default: return false;
    }
  }

  /** Plain text with links made clickable (text nodes only: nothing is parsed as HTML). */
  function linkify(text) {
    const out = [];
    const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;
    let last = 0, m;
    while ((m = re.exec(text))) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(h("a", { href: m[0], target: "_blank", rel: "noopener noreferrer" }, m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  class ConversationPanel {
    constructor(container, id) {
      this.id = id;
      this.container = container;
      this.conv = null;
      this.messages = new Map();
      this.lastPosition = 0;
      this.unsubs = [];
      this.timers = [];
      this.destroyed = false;
      this.mode = "thread";
      this.attachments = [];      // pending uploads: { file, id?, name, state, el }
      this.clientId = uuid();
      this.typers = new Map();    // key -> { name, until }
      this.callbacks = null;
      this.liveSeq = 0;
      container.appendChild(h("p", { class: "muted center", "data-test": "conversation-loading" }, t("common.loading")));
      this.load();
    }

    destroy() {
      this.destroyed = true;
      this.unsubs.forEach((u) => u());
      this.timers.forEach((x) => clearInterval(x));
      clearTimeout(this.metaTimer);
      clearTimeout(this.readTimer);
      this.stopTyping();
    }

    // --- loading ---
    async load() {
      const canWork = works();
      try {
        if (!canWork) {
          // Auditors read the history only: they may not open threads.
          this.conv = null;
          this.renderAuditOnly();
          return;
        }
        const d = await gql("query($id: UUID!) { conversation(id: $id) { " + CONV_FIELDS + " " + SLA_FIELDS + " } }", { id: this.id });
        if (this.destroyed) return;
        if (!d.conversation) throw new ApiError("CONVERSATION_NOT_FOUND");
        this.conv = d.conversation;
        this.render();
        await this.loadThread();
        if (this.destroyed) return;
        this.subscribe();
        this.markRead();
        this.openIfMine();
        if (seesTeam()) this.loadCallbacks();
        // The SLA clock moves; the visitor's read markers arrive without an event of ours.
        this.timers.push(setInterval(() => this.renderSla(), 30000));
        this.timers.push(setInterval(() => this.refreshReadMarkers(), 20000));
      } catch (e) {
        if (this.destroyed) return;
        clear(this.container).appendChild(h("div", { class: "placeholder" },
          h("p", { class: "error", role: "alert", "data-test": "conversation-error" }, e.code === "CONVERSATION_NOT_FOUND" || e.code === "NOT_ASSIGNEE" || e.code === "FORBIDDEN" ? (e.code === "CONVERSATION_NOT_FOUND" ? t("conv.notFound") : sentence(e)) : sentence(e)),
          h("a", { href: "#/inbox/" + INBOX.tab.toLowerCase(), class: "link" }, t("conv.back"))));
      }
    }

    async loadThread() {
      let after = null;
      for (let page = 0; page < 50; page++) {
        const d = await gql("query($id: UUID!, $after: String) { conversation(id: $id) { messages(first: 200, after: $after) { nodes { " + MSG_FIELDS + " } pageInfo { hasNextPage endCursor } } } }", { id: this.id, after });
        if (this.destroyed || !d.conversation) return;
        const conn = d.conversation.messages;
        conn.nodes.forEach((m) => this.addMessage(m, true));
        if (!conn.pageInfo.hasNextPage) break;
        after = conn.pageInfo.endCursor;
      }
      this.scrollDown(true);
    }

    async reloadMeta() {
      // A read started before the latest live change may predate it (the read side lags the
      // mutations): its answer is dropped, and the read that change started wins.
      const seq = this.liveSeq;
      try {
        const d = await gql("query($id: UUID!) { conversation(id: $id) { " + CONV_FIELDS + " " + SLA_FIELDS + " } }", { id: this.id });
        if (this.destroyed || !d.conversation || seq !== this.liveSeq) return;
        this.applyMeta(d.conversation);
      } catch (e) { /* the next change tries again */ }
    }

    /** The conversation as a live change shows it (this panel's subscription, or the list's row). */
    applyLive(c) {
      if (!this.conv || c.id !== this.id) return;
      this.liveSeq++;
      this.applyMeta(c);
      // The change's row carries no SLA figures: read them (and anything else) after it.
      this.reloadMetaSoon();
    }
    reloadMetaSoon() { clearTimeout(this.metaTimer); this.metaTimer = setTimeout(() => this.reloadMeta(), 700); }

    applyMeta(c) {
      if (!this.conv) return;
      const before = this.conv;
      this.conv = Object.assign({}, this.conv, c);
      if (!("sla" in c)) this.conv.sla = before.sla;
      this.renderHead();
      this.renderDetails();
      this.renderComposerState();
      if (c.status !== before.status || c.assigneeId !== before.assigneeId) this.reloadMetaSoon();
      this.openIfMine();
    }

    /** OPS-3: the assignee looking at their conversation has opened it (stops the escalation timer). */
    openIfMine() {
      const c = this.conv;
      if (!c || !S.me || c.assigneeId !== S.me.id) { this.openedSent = false; return; }
      if (c.openedAt || this.openedSent) return;
      this.openedSent = true;
      gql("mutation($id: UUID!) { openConversation(conversationId: $id) { changed } }", { id: this.id }).catch(() => { this.openedSent = false; });
    }

    subscribe() {
      const live = S.live;
      if (!live) return;
      this.unsubs.push(live.subscribe(
        "subscription($id: UUID!, $after: Int) { messagePosted(conversationId: $id, afterPosition: $after) { " + MSG_FIELDS + " } }",
        () => ({ id: this.id, after: this.lastPosition }),
        (d) => this.onPosted(d.messagePosted)));
      this.unsubs.push(live.subscribe(
        "subscription($id: UUID!) { typing(conversationId: $id) { conversationId sender { kind id } typing } }",
        { id: this.id }, (d) => this.onTyping(d.typing)));
      // The SDL has no operator subscription for one conversation: the All list's changes
      // name every conversation the operator may see, so this panel keeps to its own row
      // (status, assignee, priority, tags, rating after anyone's change, its own included).
      this.unsubs.push(live.subscribe(
        "subscription { inboxListChanged(tab: ALL) { kind conversationId conversation { " + CONV_FIELDS + " } } }",
        {}, (d) => {
          const ch = d.inboxListChanged;
          if (!ch) return;
          if (ch.kind === "UPSERTED" && ch.conversation && ch.conversation.id === this.id) this.applyLive(ch.conversation);
          // The first message (COUNTS) says the subscription is in place: a change between
          // the first read and now is read again.
          else if ((ch.kind === "COUNTS" && !this.liveReady) || ch.kind === "RESYNC" || (ch.kind === "REMOVED" && ch.conversationId === this.id)) this.reloadMeta();
          this.liveReady = true;
        }, () => { this.liveReady = false; }));
    }

    onPosted(m) {
      if (!m) return;
      const fresh = !this.messages.has(m.id);
      this.addMessage(m);
      if (!fresh) return;
      if (m.sender.kind === "CONTACT") {
        this.typers.delete("CONTACT");
        this.renderTyping();
        this.markReadSoon();
      }
      this.reloadMetaSoon();
    }

    // --- thread ---
    authorOf(m) {
      const k = m.sender.kind;
      if (k === "CONTACT") return contactName(this.conv || {});
      if (k === "OPERATOR") return S.me && m.sender.id === S.me.id ? t("sender.you") : m.sender.id ? operatorName(m.sender.id) : t("sender.operator");
      if (k === "BOT") return t("sender.bot");
      return t("sender.system");
    }

    messageEl(m) {
      const k = m.sender.kind;
      const kind = m.internal ? "note" : k.toLowerCase();
      const mine = k === "OPERATOR" && S.me && m.sender.id === S.me.id;
      const atts = (m.attachments || []).map((a) => this.attachmentEl(a));
      const read = k === "OPERATOR" && !m.internal && m.readAt
        ? h("div", { class: "msg-read", "data-test": "read-by-visitor", title: fmtDateTime(m.readAt) }, t("msg.readByVisitor"))
        : null;
      return h("li", { class: "msg msg-" + kind + (mine ? " msg-mine" : "") + (k === "OPERATOR" || k === "BOT" || (k === "SYSTEM" && m.autoReply) ? " msg-out" : ""), "data-test": m.internal ? "note" : "message", "data-kind": k, "data-id": m.id, "data-position": m.position },
        h("div", { class: "msg-head" },
          h("span", { class: "msg-author", "data-test": "message-author" }, this.authorOf(m)),
          m.internal ? h("span", { class: "label label-note", "data-test": "note-label" }, t("msg.note")) : null,
          m.autoReply ? h("span", { class: "label", "data-test": "auto-reply-label" }, t("msg.autoReply")) : null,
          k === "CONTACT" || m.channel !== "WEB" ? h("span", { class: "msg-channel" }, m.channel === "TELEGRAM" ? "Telegram" : "") : null,
          h("time", { datetime: m.postedAt, title: fmtDateTime(m.postedAt) }, fmtTime(m.postedAt))),
        m.body ? h("div", { class: "msg-body", "data-test": "message-body" }, linkify(m.body)) : null,
        atts.length ? h("div", { class: "attachments" }, atts) : null,
        read);
    }

    attachmentEl(a) {
      const isImage = /^image\//.test(a.contentType);
      if (isImage) {
        const img = h("img", { alt: a.name, "data-test": "attachment-image", loading: "lazy" });
        const link = h("a", { class: "att-image", href: "#", title: t("msg.openImage", { name: a.name }), "aria-label": t("msg.openImage", { name: a.name }) }, img);
        attachmentBlob(a).then((url) => { img.src = url; link.href = url; link.target = "_blank"; }, () => {
          link.replaceWith(h("span", { class: "att-failed", "data-test": "attachment-failed" }, t("msg.fileFailed", { name: a.name })));
        });
        link.addEventListener("click", (ev) => { if (link.getAttribute("href") === "#") ev.preventDefault(); });
        return link;
      }
      const link = h("a", { class: "att-file", href: "#", "data-test": "attachment-link", download: a.name, title: t("msg.download", { name: a.name }) },
        h("span", { class: "att-icon", "aria-hidden": "true" }, a.contentType === "application/pdf" ? "PDF" : "FILE"),
        h("span", {}, a.name), h("span", { class: "muted" }, " · " + fmtBytes(a.size)));
      link.addEventListener("click", async (ev) => {
        if (link.dataset.ready) return;
        ev.preventDefault();
        try {
          const url = await attachmentBlob(a);
          link.href = url; link.dataset.ready = "1";
          link.click();
        } catch (e) { toast(e); }
      });
      return link;
    }

    addMessage(m, bulk) {
      if (m.position > this.lastPosition) this.lastPosition = m.position;
      const had = this.messages.get(m.id);
      this.messages.set(m.id, m);
      if (!this.threadEl) return;
      const el = this.messageEl(m);
      if (had) {
        const old = this.threadEl.querySelector('[data-id="' + m.id + '"]');
        if (old) { old.replaceWith(el); return; }
      }
      const nearBottom = this.isNearBottom();
      // Keep the thread in position order (a replay after a reconnect may interleave).
      let before = null;
      for (let node = this.threadEl.lastElementChild; node; node = node.previousElementSibling) {
        if (Number(node.dataset.position) > m.position) before = node; else break;
      }
      this.threadEl.insertBefore(el, before);
      if (!bulk && (nearBottom || (m.sender.kind === "OPERATOR" && S.me && m.sender.id === S.me.id))) this.scrollDown();
    }

    isNearBottom() { const s = this.scrollEl; return !s || s.scrollHeight - s.scrollTop - s.clientHeight < 120; }
    scrollDown(now) { const s = this.scrollEl; if (s) requestAnimationFrame(() => { s.scrollTop = s.scrollHeight; }); if (now && s) s.scrollTop = s.scrollHeight; }

    async refreshReadMarkers() {
      if (this.destroyed || document.visibilityState !== "visible") return;
      const waiting = [...this.messages.values()].filter((m) => m.sender.kind === "OPERATOR" && !m.internal && !m.readAt);
      if (!waiting.length) return;
      const from = Math.min(...waiting.map((m) => m.position)) - 1;
      try {
        const d = await gql("query($id: UUID!, $after: String) { conversation(id: $id) { messages(first: 200, after: $after) { nodes { " + MSG_FIELDS + " } } } }", { id: this.id, after: String(Math.max(0, from)) });
        if (this.destroyed || !d.conversation) return;
        for (const m of d.conversation.messages.nodes) {
          const had = this.messages.get(m.id);
          if (!had || had.readAt !== m.readAt) this.addMessage(m, true);
        }
      } catch (e) { /* next time */ }
    }

    markReadSoon() { clearTimeout(this.readTimer); this.readTimer = setTimeout(() => this.markRead(), 600); }
    markRead() {
      if (this.destroyed || document.visibilityState !== "visible" || !this.conv) return;
      const contactMsgs = [...this.messages.values()].filter((m) => m.sender.kind === "CONTACT");
      const unread = contactMsgs.some((m) => !m.readAt) || (S.unread.get(this.id) || 0) > 0 || this.conv.unreadCount > 0;
      if (!unread) return;
      const last = [...this.messages.values()].sort((a, b) => b.position - a.position)[0];
      gql("mutation($id: UUID!, $up: UUID) { markConversationRead(conversationId: $id, upToMessageId: $up) { changed } }", { id: this.id, up: last ? last.id : null })
        .then(() => { this.conv.unreadCount = 0; })
        .catch(() => {});
    }

    // --- typing ---
    onTyping(ti) {
      if (!ti) return;
      const key = ti.sender.kind + ":" + (ti.sender.id || "");
      if (ti.typing) {
        const name = ti.sender.kind === "CONTACT" ? contactName(this.conv || {}) : ti.sender.id ? operatorName(ti.sender.id) : t("sender.operator");
        this.typers.set(key, { name, until: Date.now() + 10000 });
      } else this.typers.delete(key);
      this.renderTyping();
      clearTimeout(this.typingExpiry);
      this.typingExpiry = setTimeout(() => this.renderTyping(), 10500);
    }
    renderTyping() {
      if (!this.typingEl) return;
      const now = Date.now();
      for (const [k, v] of this.typers) if (v.until < now) this.typers.delete(k);
      const names = [...this.typers.values()].map((v) => v.name);
      this.typingEl.textContent = names.length ? t("typing.someone", { name: names.join(", ") }) : "";
    }
    onInput() {
      if (this.noteMode()) return;
      const now = Date.now();
      if (!this.replyEl.value.trim()) { this.stopTyping(); return; }
      if (!this.typingSentAt || now - this.typingSentAt > 3000) {
        this.typingSentAt = now;
        gql("mutation($id: UUID!) { setTyping(conversationId: $id, typing: true) }", { id: this.id }).catch(() => {});
      }
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.stopTyping(), 5000);
    }
    stopTyping() {
      clearTimeout(this.typingTimer);
      if (!this.typingSentAt) return;
      this.typingSentAt = 0;
      if (S.session) gql("mutation($id: UUID!) { setTyping(conversationId: $id, typing: false) }", { id: this.id }).catch(() => {});
    }

    // --- drawing ---
    render() {
      const c = this.conv;
      clear(this.container);
      this.headEl = h("header", { class: "conv-head" });
      this.threadEl = h("ol", { class: "thread", "data-test": "thread", "aria-label": t("conv.thread") });
      this.scrollEl = h("div", { class: "thread-scroll", tabindex: "0", "aria-label": t("conv.thread") }, this.threadEl);
      this.typingEl = h("p", { class: "typing", "data-test": "typing-indicator", "aria-live": "polite" });
      this.composerEl = this.composer();
      this.threadCol = h("div", { class: "thread-col" }, this.scrollEl, this.typingEl, this.composerEl);
      this.historyCol = h("div", { class: "history-col", hidden: true });
      this.detailsEl = h("aside", { class: "details", "aria-label": t("conv.details"), "data-test": "conversation-details" });
      this.container.appendChild(h("div", { class: "conv", "data-test": "conversation", "data-id": c.id },
        this.headEl, h("div", { class: "conv-body" }, h("div", { class: "conv-main" }, this.threadCol, this.historyCol), this.detailsEl)));
      this.renderHead();
      this.renderDetails();
      this.renderComposerState();
      document.title = contactName(c) + " · " + t("app.name");
    }

    renderAuditOnly() {
      clear(this.container);
      this.historyCol = h("div", { class: "history-col" });
      this.container.appendChild(h("div", { class: "conv", "data-test": "conversation", "data-id": this.id },
        h("header", { class: "conv-head" }, h("h2", { "data-test": "conversation-title" }, t("history.title") + " · " + shortId(this.id))),
        this.historyCol));
      eventList(this.historyCol, (after) => gql("query($id: UUID!, $after: String) { streamEvents(streamId: $id, first: 100, after: $after) { nodes { " + EVENT_FIELDS + " } pageInfo { hasNextPage endCursor } } }", { id: this.id, after }).then((d) => d.streamEvents));
    }

    renderHead() {
      const c = this.conv;
      if (!this.headEl) return;
      const statusButtons = STATUS_ORDER.filter((s) => s !== c.status && operatorMaySet(c.status, s)).map((s) =>
        h("button", { type: "button", class: s === "RESOLVED" ? "primary small" : "small", "data-test": "status-action-" + s, onclick: (ev) => this.changeStatus(s, ev.currentTarget) }, t("statusTo." + s)));
      const tabs = isAuditor() ? h("div", { class: "tabs small-tabs", role: "tablist" },
        h("button", { type: "button", role: "tab", class: "tab", "data-test": "conversation-tab-thread", "aria-selected": String(this.mode === "thread"), onclick: () => this.setMode("thread") }, t("conv.thread")),
        h("button", { type: "button", role: "tab", class: "tab", "data-test": "conversation-tab-history", "aria-selected": String(this.mode === "history"), onclick: () => this.setMode("history") }, t("conv.history"))) : null;
      clear(this.headEl);
      append(this.headEl, [
        h("a", { class: "back link", href: "#/inbox/" + INBOX.tab.toLowerCase(), "data-test": "conversation-back" }, "← " + t("conv.back")),
        h("div", { class: "conv-title-row" }, h("div", { class: "conv-title" },
          h("h2", { "data-test": "conversation-title" }, contactName(c)),
          h("span", { class: "pill status-" + c.status, "data-test": "conversation-status" }, t("convStatus." + c.status)),
          h("span", { class: "pill prio-" + c.priority, "data-test": "conversation-priority" }, t("priority." + c.priority)),
          c.subject ? h("span", { class: "muted subject" }, c.subject) : null), tabs),
        h("div", { class: "conv-actions", role: "group", "aria-label": t("action.statuses") }, statusButtons)
      ]);
    }

    setMode(mode) {
      this.mode = mode;
      this.threadCol.hidden = mode !== "thread";
      this.historyCol.hidden = mode !== "history";
      if (mode === "history" && !this.historyLoaded) {
        this.historyLoaded = true;
        eventList(this.historyCol, (after) => gql("query($id: UUID!, $after: String) { streamEvents(streamId: $id, first: 100, after: $after) { nodes { " + EVENT_FIELDS + " } pageInfo { hasNextPage endCursor } } }", { id: this.id, after }).then((d) => d.streamEvents));
      }
      this.renderHead();
    }

    noteMode() { return this.noteToggle && this.noteToggle.checked; }

    composer() {
      this.replyEl = h("textarea", { rows: "3", "data-test": "reply-box", "aria-label": t("reply.label"), placeholder: t("reply.placeholder") });
      this.noteToggle = h("input", { type: "checkbox", "data-test": "note-toggle" });
      this.fileInput = h("input", { type: "file", multiple: true, class: "sr-only", "data-test": "attach-input", tabindex: "-1", accept: "image/jpeg,image/png,image/gif,image/webp,application/pdf" });
      this.attachBtn = h("button", { type: "button", class: "ghost icon", "data-test": "attach-button", "aria-label": t("reply.attach"), title: t("reply.attach"), onclick: () => this.fileInput.click() },
        h("svg", { viewBox: "0 0 24 24", width: "18", height: "18", "aria-hidden": "true" }, h("path", { d: "M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.7-5.7L5.8 11.4a6 6 0 0 0 8.5 8.5l6.2-6.2", fill: "none", stroke: "currentColor", "stroke-width": "1.8", "stroke-linecap": "round" })));
      this.sendBtn = h("button", { type: "submit", class: "primary", "data-test": "send-button" }, t("reply.send"));
      this.attList = h("ul", { class: "pending-atts" });
      this.replyErr = errorBox("reply-error");
      this.closedNote = h("p", { class: "muted small", "data-test": "reply-closed", hidden: true }, t("reply.closed"));
      this.noteToggle.addEventListener("change", () => this.renderComposerState());
      this.fileInput.addEventListener("change", () => { [...this.fileInput.files].forEach((f) => this.addFile(f)); this.fileInput.value = ""; });
      this.replyEl.addEventListener("input", () => this.onInput());
      this.replyEl.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && !ev.altKey) { ev.preventDefault(); this.send(); }
      });
      this.replyEl.addEventListener("paste", (ev) => {
        const files = [...((ev.clipboardData && ev.clipboardData.files) || [])];
        if (files.length && !this.noteMode()) { ev.preventDefault(); files.forEach((f) => this.addFile(f)); }
      });
      const form = h("form", { class: "composer", "data-test": "composer", onsubmit: (ev) => { ev.preventDefault(); this.send(); } },
        this.closedNote,
        this.replyEl,
        this.attList,
        this.replyErr,
        h("div", { class: "composer-bar" },
          h("label", { class: "check note-check" }, this.noteToggle, t("reply.noteToggle")),
          this.attachBtn, this.fileInput,
          h("span", { class: "spacer" }),
          this.sendBtn));
      form.addEventListener("dragover", (ev) => { ev.preventDefault(); });
      form.addEventListener("drop", (ev) => { ev.preventDefault(); if (!this.noteMode()) [...ev.dataTransfer.files].forEach((f) => this.addFile(f)); });
      return form;
    }

    renderComposerState() {
      if (!this.replyEl) return;
      const note = this.noteMode();
      this.composerEl.classList.toggle("is-note", note);
      this.replyEl.placeholder = note ? t("reply.notePlaceholder") : t("reply.placeholder");
      this.sendBtn.textContent = note ? t("reply.addNote") : t("reply.send");
      this.attachBtn.disabled = note;
      this.attachBtn.title = note ? t("reply.noteNoFiles") : t("reply.attach");
      this.closedNote.hidden = note || !this.conv || this.conv.status !== "CLOSED";
    }

    addFile(file) {
      const item = { file, name: file.name, state: "uploading", id: null };
      const remove = h("button", { type: "button", class: "link", "aria-label": t("reply.remove", { name: file.name }), onclick: () => {
        this.attachments = this.attachments.filter((x) => x !== item); item.el.remove();
      } }, "×");
      const label = h("span", {}, t("reply.uploading", { name: file.name }));
      item.el = h("li", { class: "pending-att", "data-test": "pending-attachment" }, label, remove);
      this.attList.appendChild(item.el);
      this.attachments.push(item);
      item.promise = upload(this.id, file).then((res) => {
        item.id = res.id; item.state = "done";
        label.textContent = res.name + " · " + fmtBytes(res.size);
      }, (e) => {
        item.state = "failed";
        item.el.classList.add("failed");
        label.textContent = file.name + ": " + sentence(e);
        label.setAttribute("data-test", "attachment-error");
      });
    }

    async send() {
      const body = this.replyEl.value;
      const note = this.noteMode();
      this.replyErr.hide();
      if (this.sending) return;
      const files = note ? [] : this.attachments;
      if (!body.trim() && !files.length) { this.replyErr.show(new ApiError("EMPTY_BODY")); return; }
      this.sending = true;
      this.sendBtn.disabled = true;
      try {
        await Promise.all(files.map((f) => f.promise));
        if (files.some((f) => f.state === "failed")) throw new ApiError("ATTACHMENT_NOT_FOUND");
        let m;
        if (note) {
          const d = await gql("mutation($input: InternalNoteInput!) { addInternalNote(input: $input) { " + MSG_FIELDS + " } }", { input: { conversationId: this.id, body, clientNoteId: this.clientId } });
          m = d.addInternalNote;
        } else {
          const d = await gql("mutation($input: ReplyInput!) { replyToConversation(input: $input) { " + MSG_FIELDS + " } }", { input: { conversationId: this.id, body, clientMessageId: this.clientId, attachmentIds: files.map((f) => f.id) } });
          m = d.replyToConversation;
        }
        this.stopTyping();
        this.addMessage(m);
        this.scrollDown();
        this.replyEl.value = "";
        this.clientId = uuid();
        if (!note) { this.attachments = []; clear(this.attList); }
        this.reloadMetaSoon();
      } catch (e) {
        this.replyErr.show(e);
      } finally {
        this.sending = false;
        this.sendBtn.disabled = false;
        this.replyEl.focus();
      }
    }

    // --- actions ---
    async mutate(button, query, vars) {
      return act(button, async () => {
        await gql(query, vars);
        await this.reloadMeta();
      });
    }
    changeStatus(status, button) {
      return this.mutate(button, "mutation($id: UUID!, $s: ConversationStatus!) { changeConversationStatus(conversationId: $id, status: $s) { changed } }", { id: this.id, s: status });
    }

    renderDetails() {
      const c = this.conv;
      const el = this.detailsEl;
      if (!el) return;
      clear(el);
      const dl = (rows) => h("dl", { class: "kv" }, rows.filter(Boolean).map(([k, v, test]) => [h("dt", {}, k), h("dd", { "data-test": test || null }, v == null || v === "" ? t("details.none") : v)]));
      const ct = c.contact || {};
      el.appendChild(h("section", { class: "panel", "data-test": "contact-details" },
        h("h3", {}, t("details.contact")),
        dl([
          [t("details.name"), ct.name || t("inbox.visitor"), "contact-name"],
          [t("details.email"), ct.email ? h("a", { href: "mailto:" + ct.email }, ct.email) : null, "contact-email"],
          [t("details.phone"), ct.phone ? h("a", { href: "tel:" + ct.phone }, ct.phone) : null, "contact-phone"],
          [t("details.channel"), t("source." + c.source), "conversation-source"],
          [t("details.inbox"), inboxTitle(c.inboxId)],
          [t("details.started"), h("time", { datetime: c.startedAt }, fmtDateTime(c.startedAt))],
          c.branchId ? [t("details.branch"), shortId(c.branchId)] : null,
          c.rating ? [t("details.rating"), c.rating.scale + " " + c.rating.score + (c.rating.comment ? " · " + c.rating.comment : ""), "conversation-rating"] : null,
          c.reopenCount ? [t("details.reopened", { n: c.reopenCount }), ""] : null
        ])));

      // Assignment
      const assignment = h("section", { class: "panel", "data-test": "assignment" }, h("h3", {}, t("details.assignee")));
      assignment.appendChild(h("p", { "data-test": "conversation-assignee" }, c.assigneeId ? (c.assigneeName || operatorName(c.assigneeId)) : t("inbox.unassigned")));
      const btns = h("div", { class: "btn-row" });
      if (!S.me || c.assigneeId !== S.me.id) btns.appendChild(h("button", { type: "button", class: "small", "data-test": "take-button", onclick: (ev) => this.mutate(ev.currentTarget, "mutation($id: UUID!) { takeConversation(conversationId: $id) { changed } }", { id: this.id }) }, t("action.take")));
      if (c.assigneeId) btns.appendChild(h("button", { type: "button", class: "small ghost", "data-test": "unassign-button", onclick: (ev) => this.mutate(ev.currentTarget, "mutation($id: UUID!) { unassignConversation(conversationId: $id) { changed } }", { id: this.id }) }, t("action.unassign")));
      assignment.appendChild(btns);
      const ops = (S.operators || []).filter((o) => o.active !== false && (o.roles || []).some((r) => CONVERSATION_ROLES.includes(r)));
      if (seesTeam() && ops.length) {
        const s = select({ "data-test": "assign-select", "aria-label": t("action.assign") }, [["", t("action.assignPick")]].concat(ops.map((o) => [o.id, o.name + " · " + t("opStatus." + o.status) + " · " + o.load])), "");
        s.addEventListener("change", () => {
          if (!s.value) return;
          this.mutate(s, "mutation($id: UUID!, $op: UUID!) { assignConversation(conversationId: $id, operatorId: $op) { changed } }", { id: this.id, op: s.value });
        });
        assignment.appendChild(field(t("action.assign"), s));
      }
      if (c.transferable) {
        const opts = [["", t("action.transferPick")]];
        if (seesTeam()) ops.forEach((o) => opts.push(["op:" + o.id, o.name]));
        opts.push(["head:", t("action.transferHeadOffice")]);
        branchesKnown().forEach((b) => opts.push(["branch:" + b, t("action.transferBranch", { id: shortId(b) })]));
        const s = select({ "data-test": "transfer-select", "aria-label": t("action.transfer") }, opts, "");
        s.addEventListener("change", () => {
          if (!s.value) return;
          const [kind, id] = s.value.split(":");
          const vars = { id: this.id, op: kind === "op" ? id : null, branch: kind === "branch" ? id : null, head: kind === "head" };
          this.mutate(s, "mutation($id: UUID!, $op: UUID, $branch: UUID, $head: Boolean!) { transferConversation(conversationId: $id, operatorId: $op, branchId: $branch, headOffice: $head) { changed } }", vars);
        });
        assignment.appendChild(field(t("action.transfer"), s));
      }
      el.appendChild(assignment);

      // Priority and tags
      const prio = select({ "data-test": "priority-select" }, PRIORITIES.map((p) => [p, t("priority." + p)]), c.priority);
      prio.addEventListener("change", () => this.mutate(prio, "mutation($id: UUID!, $p: Priority!) { setConversationPriority(conversationId: $id, priority: $p) { changed } }", { id: this.id, p: prio.value }));
      const tagInput = h("input", { type: "text", "data-test": "tag-input", "aria-label": t("details.addTag"), placeholder: t("details.addTag"), maxlength: "64" });
      const addTag = (button) => {
        const tag = tagInput.value.trim();
        if (!tag) return;
        this.mutate(button, "mutation($id: UUID!, $tag: String!) { tagConversation(conversationId: $id, tag: $tag) { changed } }", { id: this.id, tag }).then(() => { tagInput.value = ""; });
      };
      tagInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); addTag(null); } });
      el.appendChild(h("section", { class: "panel" },
        field(t("details.priority"), prio),
        h("h3", {}, t("details.tags")),
        h("ul", { class: "tags", "data-test": "tags" }, (c.tags || []).map((tag) =>
          h("li", { class: "tag", "data-test": "tag" }, h("span", { "data-test": "tag-name" }, tag),
            h("button", { type: "button", class: "tag-x", "data-test": "tag-remove", "aria-label": t("details.removeTag", { tag }), onclick: (ev) => this.mutate(ev.currentTarget, "mutation($id: UUID!, $tag: String!) { untagConversation(conversationId: $id, tag: $tag) { changed } }", { id: this.id, tag }) }, "×")))),
        h("div", { class: "inline" }, tagInput, h("button", { type: "button", class: "small", "data-test": "tag-add", onclick: (ev) => addTag(ev.currentTarget) }, t("details.addTagButton")))));

      this.slaEl = h("section", { class: "panel", "data-test": "sla" });
      el.appendChild(this.slaEl);
      this.renderSla();
      this.callbacksEl = h("section", { class: "panel", "data-test": "callbacks", hidden: !seesTeam() });
      el.appendChild(this.callbacksEl);
      this.renderCallbacks();
    }

    renderSla() {
      const el = this.slaEl;
      if (!el || !this.conv) return;
      const sla = this.conv.sla;
      clear(el).appendChild(h("h3", {}, t("sla.title")));
      if (!sla) { el.appendChild(h("p", { class: "muted", "data-test": "sla-none" }, t("sla.none"))); return; }
      const now = Date.now();
      const row = (label, test, state, text) => h("div", { class: "sla-row sla-" + state, "data-test": test, "data-state": state }, h("span", { class: "sla-label" }, label), h("span", { class: "sla-value", "data-test": test + "-value" }, text));
      const running = (due) => {
        const left = (Date.parse(due) - now) / 1000;
        return left >= 0 ? ["due", t("sla.dueIn", { t: fmtDuration(left) })] : ["breached", t("sla.overdue", { t: fmtDuration(-left) })];
      };
      const done = (x) => (x.breached
        ? ["late", t("sla.metLate", { t: fmtDuration(x.deadline ? (Date.parse(x.respondedAt || x.resolvedAt) - Date.parse(x.deadline)) / 1000 : x.seconds) })]
        : ["met", t("sla.met", { t: fmtDuration(x.seconds) })]);
      const rows = [];
      const first = sla.responses.find((r) => r.kind === "FIRST");
      if (first) rows.push(row(t("sla.firstResponse"), "sla-first", ...done(first)));
      else if (sla.firstResponseDue) rows.push(row(t("sla.firstResponse"), "sla-first", ...running(sla.firstResponseDue)));
      if (sla.nextResponseDue) rows.push(row(t("sla.nextResponse"), "sla-next", ...running(sla.nextResponseDue)));
      else {
        const nexts = sla.responses.filter((r) => r.kind === "NEXT");
        if (nexts.length) rows.push(row(t("sla.nextResponse"), "sla-next", ...done(nexts[nexts.length - 1])));
      }
      const res = sla.resolutions[sla.resolutions.length - 1];
      if (res && (this.conv.status === "RESOLVED" || this.conv.status === "CLOSED" || !sla.resolutionDue)) rows.push(row(t("sla.resolution"), "sla-resolution", ...done(res)));
      else if (sla.resolutionDue) rows.push(row(t("sla.resolution"), "sla-resolution", ...running(sla.resolutionDue)));
      if (!rows.length) el.appendChild(h("p", { class: "muted", "data-test": "sla-none" }, t("sla.none")));
      append(el, rows);
      if (sla.breaches.length) el.appendChild(h("p", { class: "sla-breaches", "data-test": "sla-breaches" }, t("sla.breaches", { n: sla.breaches.length })));
      if (sla.businessHoursOnly) el.appendChild(h("p", { class: "muted small" }, t("sla.businessHours")));
    }

    // --- call-backs (admins and managers: `callbacks` is theirs) ---
    async loadCallbacks() {
      const found = [];
      let after = null;
      try {
        for (let page = 0; page < 10; page++) {
          const d = await gql("query($after: String) { callbacks(first: 200, after: $after) { nodes { id conversationId phone windowFrom windowTo status scheduledFor outcomeNote requestedAt settledAt consentTextVersion } pageInfo { hasNextPage endCursor } } }", { after });
          d.callbacks.nodes.forEach((cb) => { if (cb.conversationId === this.id) found.push(cb); });
          if (!d.callbacks.pageInfo.hasNextPage) break;
          after = d.callbacks.pageInfo.endCursor;
        }
        this.callbacks = found;
      } catch (e) { this.callbacks = []; this.callbackErr = e; }
      if (!this.destroyed) this.renderCallbacks();
    }

    renderCallbacks() {
      const el = this.callbacksEl;
      if (!el || el.hidden) return;
      clear(el).appendChild(h("h3", {}, t("cb.title")));
      if (this.callbacks == null) { el.appendChild(h("p", { class: "muted" }, t("common.loading"))); return; }
      if (this.callbackErr) el.appendChild(h("p", { class: "error", role: "alert" }, sentence(this.callbackErr)));
      if (!this.callbacks.length) { el.appendChild(h("p", { class: "muted", "data-test": "callbacks-empty" }, t("cb.none"))); return; }
      for (const cb of this.callbacks) {
        const open = cb.status === "REQUESTED" || cb.status === "SCHEDULED";
        const item = h("div", { class: "callback", "data-test": "callback", "data-status": cb.status },
          h("div", { class: "row-top" }, h("a", { href: "tel:" + cb.phone, "data-test": "callback-phone" }, cb.phone), h("span", { class: "pill cb-" + cb.status, "data-test": "callback-status" }, t("cbStatus." + cb.status))),
          h("dl", { class: "kv small" },
            h("dt", {}, t("cb.requested")), h("dd", {}, fmtDateTime(cb.requestedAt)),
            cb.windowFrom || cb.windowTo ? [h("dt", {}, t("cb.window")), h("dd", {}, fmtDateTime(cb.windowFrom) + " – " + fmtDateTime(cb.windowTo))] : null,
            cb.scheduledFor ? [h("dt", {}, t("cb.scheduled")), h("dd", { "data-test": "callback-scheduled" }, fmtDateTime(cb.scheduledFor))] : null,
            cb.outcomeNote ? [h("dt", {}, t("cb.note")), h("dd", { "data-test": "callback-note-text" }, cb.outcomeNote)] : null,
            cb.settledAt ? [h("dt", {}, t("cb.settled")), h("dd", {}, fmtDateTime(cb.settledAt))] : null));
        if (open) {
          const when = h("input", { type: "datetime-local", "data-test": "callback-when", "aria-label": t("cb.scheduleAt") });
          const schedule = h("button", { type: "button", class: "small", "data-test": "callback-schedule", onclick: (ev) => {
            if (!when.value) { toast(sentence(new ApiError("INVALID_CALLBACK_WINDOW"))); return; }
            act(ev.currentTarget, async () => {
              await gql("mutation($c: UUID!, $cb: UUID!, $at: DateTime!) { scheduleCallback(conversationId: $c, callbackId: $cb, scheduledFor: $at) { changed } }", { c: this.id, cb: cb.id, at: new Date(when.value).toISOString() });
              await this.loadCallbacks(); this.reloadMetaSoon();
            });
          } }, t("cb.schedule"));
          const outcome = select({ "data-test": "callback-outcome", "aria-label": t("cb.outcome") }, ["COMPLETED", "NO_ANSWER", "CANCELLED"].map((o) => [o, t("outcome." + o)]), "COMPLETED");
          const note = h("textarea", { rows: "2", "data-test": "callback-note", "aria-label": t("cb.note"), placeholder: t("cb.note") });
          const record = h("button", { type: "button", class: "small primary", "data-test": "callback-record", onclick: (ev) => act(ev.currentTarget, async () => {
            await gql("mutation($c: UUID!, $cb: UUID!, $o: CallbackOutcome!, $n: String) { settleCallback(conversationId: $c, callbackId: $cb, outcome: $o, note: $n) { changed } }", { c: this.id, cb: cb.id, o: outcome.value, n: note.value.trim() || null });
            await this.loadCallbacks(); this.reloadMetaSoon();
          }) }, t("cb.record"));
          append(item, [h("div", { class: "inline" }, when, schedule), field(t("cb.outcome"), outcome), note, record]);
        }
        el.appendChild(item);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Event lists (a conversation's history; the audit pages)
  // ---------------------------------------------------------------------------------------
  const EVENT_FIELDS = "globalPosition streamId streamType streamVersion eventId eventType schemaVersion payload metadata recordedAt hash prevHash";

  function actorOf(meta) {
    if (!meta || typeof meta !== "object") return "";
    const a = meta.actor || meta.actor_kind || null;
    if (a && typeof a === "object") {
      const kind = a.kind || a.type || "";
      const id = a.id || a.operator_id || a.contact_id || "";
      const name = kind === "operator" || kind === "Operator" ? operatorName(id) : "";
      return [kind, name || shortId(id)].filter(Boolean).join(" ");
    }
    return typeof a === "string" ? a : "";
  }

  /** Lists events in order, as `load(after)` pages them ({nodes, pageInfo}). */
  function eventList(container, load) {
    clear(container);
    const list = h("ol", { class: "events", "data-test": "history" });
    const err = errorBox("history-error");
    const more = h("button", { type: "button", class: "ghost", "data-test": "history-load-more", hidden: true }, t("history.loadMore"));
    const empty = h("p", { class: "muted", "data-test": "history-empty", hidden: true }, t("history.empty"));
    let after = null;
    const page = async () => {
      await act(more, async () => {
        const conn = await load(after);
        for (const e of conn.nodes) {
          const actor = actorOf(e.metadata);
          list.appendChild(h("li", { class: "event", "data-test": "history-event", "data-type": e.eventType },
            h("div", { class: "event-head" },
              h("span", { class: "event-pos" }, t("history.position", { n: e.globalPosition })),
              h("strong", { class: "event-type", "data-test": "history-event-type" }, e.eventType),
              h("span", { class: "muted" }, e.streamType + " v" + e.streamVersion),
              actor ? h("span", { class: "muted" }, t("history.actor", { actor })) : null,
              h("time", { datetime: e.recordedAt }, fmtFullTime(e.recordedAt))),
            h("details", {}, h("summary", {}, t("history.payload")), h("pre", {}, JSON.stringify(e.payload, null, 2))),
            h("details", {}, h("summary", {}, t("history.metadata")), h("pre", {}, JSON.stringify(e.metadata, null, 2)),
              h("p", { class: "mono small" }, t("history.hash") + ": " + e.hash))));
        }
        after = conn.pageInfo.endCursor || after;
        more.hidden = !conn.pageInfo.hasNextPage;
        empty.hidden = list.children.length > 0;
      }, err);
    };
    more.addEventListener("click", page);
    append(container, [list, empty, err, more]);
    page();
  }
  // ---------------------------------------------------------------------------------------
  // Reports: the SLA report, charts drawn as inline SVG, CSV of the same figures
  // ---------------------------------------------------------------------------------------
  const REPORT_FIELDS = "day conversations openBacklog reopens firstResponse { count averageSeconds p50Seconds p90Seconds breaches } nextResponse { count p50Seconds p90Seconds breaches } resolution { count averageSeconds p50Seconds p90Seconds breaches } csatCount csatAverage npsCount nps";
  const REPORT = { from: null, to: null, inboxId: "", timeZone: null };

  function isoDate(d) { return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0"); }
  function daysBetween(from, to) {
    const out = [];
    const d = new Date(from + "T00:00:00");
    const end = new Date(to + "T00:00:00");
    while (d <= end && out.length < 400) { out.push(isoDate(d)); d.setDate(d.getDate() + 1); }
    return out;
  }
  function fmtDay(day) { return new Date(day + "T00:00:00").toLocaleDateString(intlLocale(), { day: "numeric", month: "short" }); }

  /** The figures every chart and the CSV show, one entry per day of the range (null: none). */
  function reportSeries(days, rows) {
    const byDay = new Map(rows.map((r) => [r.day, r]));
    return days.map((day) => {
      const r = byDay.get(day);
      return {
        day,
        firstP50: r ? r.firstResponse.p50Seconds : null, firstP90: r ? r.firstResponse.p90Seconds : null,
        resolutionP50: r ? r.resolution.p50Seconds : null, resolutionP90: r ? r.resolution.p90Seconds : null,
        breachesFirst: r ? r.firstResponse.breaches : 0, breachesNext: r ? r.nextResponse.breaches : 0, breachesResolution: r ? r.resolution.breaches : 0,
        backlog: r ? r.openBacklog : 0, conversations: r ? r.conversations : 0,
        csat: r ? r.csatAverage : null, csatCount: r ? r.csatCount : 0, nps: r ? r.nps : null, npsCount: r ? r.npsCount : 0
      };
    });
  }

  const CSV_COLUMNS = [
    ["day", (x) => x.day], ["conversations", (x) => x.conversations],
    ["first_response_p50_seconds", (x) => x.firstP50], ["first_response_p90_seconds", (x) => x.firstP90],
    ["resolution_p50_seconds", (x) => x.resolutionP50], ["resolution_p90_seconds", (x) => x.resolutionP90],
    ["breaches_first_response", (x) => x.breachesFirst], ["breaches_next_response", (x) => x.breachesNext],
    ["breaches_resolution", (x) => x.breachesResolution], ["open_backlog", (x) => x.backlog],
    ["csat_average", (x) => x.csat], ["csat_count", (x) => x.csatCount], ["nps", (x) => x.nps], ["nps_count", (x) => x.npsCount]
  ];
  function reportCsv(series) {
    const cell = (v) => (v == null ? "" : typeof v === "number" ? String(v) : /[",\n]/.test(v) ? '"' + String(v).replace(/"/g, '""') + '"' : String(v));
    return [CSV_COLUMNS.map((c) => c[0]).join(",")].concat(series.map((x) => CSV_COLUMNS.map((c) => cell(c[1](x))).join(","))).join("\r\n") + "\r\n";
  }
  function download(name, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
  }

  /** Short axis labels: "45 s", "12 min", "2.5 h", "1.5 d". */
  function axisDuration(v) {
    if (v < 60) return t("dur.s", { n: Math.round(v) });
    if (v < 3600) return t("dur.m", { n: Math.round(v / 60 * 10) / 10 });
    if (v < 86400 * 2) return t("dur.h", { n: Math.round(v / 3600 * 10) / 10 });
    return t("dur.d", { n: Math.round(v / 86400 * 10) / 10 });
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /**
   * A chart: `series` [{label, color, values (per day, null: none)}], `kind` "line" or "bars"
   * (stacked), `fmt` for the y values, `range` [min, max] to fix the axis.
   */
  function chart(title, test, days, series, kind, fmt, range, axisFmt) {
    const W = 640, H = 220, L = 64, R = 22, T = 12, B = 28;
    const all = series.flatMap((s) => s.values).filter((v) => v != null);
    let min = range ? range[0] : 0;
    let max = range ? range[1] : niceMax(kind === "bars" ? Math.max(0, ...days.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0))) : Math.max(0, ...all));
    // Counts get whole-number ticks.
    if (kind === "bars" && !range) max = Math.max(4, Math.ceil(max / 4) * 4);
    // Durations under a minute would round to the same seconds on several ticks.
    if (axisFmt === axisDuration && !range) max = Math.max(60, max);
    if (max === min) max = min + 1;
    const x = (i) => L + (days.length <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (days.length - 1));
    const y = (v) => T + (H - T - B) * (1 - (v - min) / (max - min));
    const svg = h("svg", { viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": title, "data-test": test });
    for (let k = 0; k <= 4; k++) {
      const v = min + ((max - min) * k) / 4;
      svg.appendChild(h("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
      svg.appendChild(h("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, (axisFmt || fmt)(v)));
    }
    const step = Math.max(1, Math.ceil(days.length / 8));
    // Every `step`th day and the last one, but no label crowding the last one.
    days.forEach((d, i) => { if ((i % step === 0 && days.length - 1 - i >= step) || i === days.length - 1) svg.appendChild(h("text", { x: x(i), y: H - 8, "text-anchor": i === days.length - 1 && days.length > 1 ? "end" : i === 0 && days.length > 1 ? "start" : "middle", class: "axis" }, fmtDay(d))); });
    if (kind === "bars") {
      const bw = Math.max(2, Math.min(28, ((W - L - R) / Math.max(1, days.length)) * 0.7));
      days.forEach((d, i) => {
        let acc = 0;
        series.forEach((s) => {
          const v = s.values[i] || 0;
          if (!v) return;
          svg.appendChild(h("rect", { x: x(i) - bw / 2, y: y(acc + v), width: bw, height: y(acc) - y(acc + v), fill: s.color, "data-day": d }, h("title", {}, fmtDay(d) + " · " + s.label + ": " + fmt(v))));
          acc += v;
        });
      });
    } else {
      series.forEach((s) => {
        let seg = [];
        const flush = () => { if (seg.length > 1) svg.appendChild(h("polyline", { points: seg.join(" "), fill: "none", stroke: s.color, "stroke-width": 2 })); seg = []; };
        s.values.forEach((v, i) => {
          if (v == null) { flush(); return; }
          seg.push(x(i) + "," + y(v));
          svg.appendChild(h("circle", { cx: x(i), cy: y(v), r: 3, fill: s.color, "data-day": days[i] }, h("title", {}, fmtDay(days[i]) + " · " + s.label + ": " + fmt(v))));
        });
        flush();
      });
    }
    const legend = h("ul", { class: "legend" }, series.map((s) => h("li", {}, h("span", { class: "swatch", style: "background:" + s.color }), s.label)));
    return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg, legend,
      all.length ? null : h("p", { class: "muted small" }, t("reports.noData")));
  }

  VIEWS.reports = {
    allowed: () => hasRole("ADMIN", "MANAGER", "ANALYST"),
    mount(main) {
      document.title = t("reports.title") + " · " + t("app.name");
      const today = new Date();
      const start = new Date(); start.setDate(today.getDate() - 13);
      REPORT.from = REPORT.from || isoDate(start);
      REPORT.to = REPORT.to || isoDate(today);
      REPORT.timeZone = REPORT.timeZone || (Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
      const from = h("input", { type: "date", value: REPORT.from, "data-test": "report-from" });
      const to = h("input", { type: "date", value: REPORT.to, "data-test": "report-to" });
      const inbox = select({ "data-test": "report-inbox" }, [["", t("reports.allInboxes")]].concat((S.inboxes || []).map((i) => [i.id, i.title])), REPORT.inboxId);
      const tz = h("input", { type: "text", value: REPORT.timeZone, "data-test": "report-timezone", size: "18" });
      const err = errorBox("report-error");
      const show = h("button", { type: "submit", class: "primary", "data-test": "report-show" }, t("reports.show"));
      const exportBtn = h("button", { type: "button", "data-test": "report-export", disabled: true }, t("reports.export"));
      const out = h("div", { class: "report", "data-test": "report" });
      let series = null;
      exportBtn.addEventListener("click", () => { if (series) download("sla-report-" + REPORT.from + "-" + REPORT.to + ".csv", reportCsv(series), "text/csv;charset=utf-8"); });
      const form = h("form", { class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); run(); } },
        field(t("reports.from"), from), field(t("reports.to"), to), field(t("reports.inbox"), inbox), field(t("reports.timeZone"), tz), show, exportBtn);
      main.appendChild(h("div", { class: "page" }, h("h1", {}, t("reports.title")), form, err, out));

      async function run() {
        REPORT.from = from.value; REPORT.to = to.value; REPORT.inboxId = inbox.value; REPORT.timeZone = tz.value.trim() || "UTC";
        if (!REPORT.from || !REPORT.to) return;
        // The range is [from 00:00, the day after `to` 00:00) in the browser's time; days are
        // counted in the chosen time zone by the service.
        const fromIso = new Date(REPORT.from + "T00:00:00").toISOString();
        const end = new Date(REPORT.to + "T00:00:00"); end.setDate(end.getDate() + 1);
        const vars = { from: fromIso, to: end.toISOString(), inboxIds: REPORT.inboxId ? [REPORT.inboxId] : [], tz: REPORT.timeZone };
        await act(show, async () => {
          const d = await gql("query($from: DateTime!, $to: DateTime!, $inboxIds: [UUID!]!, $tz: String!) { byDay: slaReport(from: $from, to: $to, groupBy: [DAY], inboxIds: $inboxIds, timeZone: $tz) { " + REPORT_FIELDS + " } total: slaReport(from: $from, to: $to, inboxIds: $inboxIds, timeZone: $tz) { " + REPORT_FIELDS + " } }", vars);
          const days = daysBetween(REPORT.from, REPORT.to);
          series = reportSeries(days, d.byDay);
          exportBtn.disabled = false;
          draw(days, series, d.total[0]);
        }, err);
      }

      function draw(days, s, total) {
        clear(out);
        const kpi = (label, value, test) => h("div", { class: "kpi", "data-test": test }, h("span", { class: "kpi-label" }, label), h("strong", { class: "kpi-value", "data-test": test + "-value" }, value == null || value === "" ? "—" : String(value)));
        if (!total || !total.conversations && !total.firstResponse.count && !total.resolution.count && !total.csatCount && !total.npsCount) {
          out.appendChild(h("p", { class: "muted", "data-test": "report-empty" }, t("reports.empty")));
        }
        if (total) {
          out.appendChild(h("div", { class: "kpis" },
            kpi(t("reports.conversations"), total.conversations, "kpi-conversations"),
            kpi(t("reports.backlog"), total.openBacklog, "kpi-backlog"),
            kpi(t("reports.frp50"), fmtDuration(total.firstResponse.p50Seconds), "kpi-first-p50"),
            kpi(t("reports.frp90"), fmtDuration(total.firstResponse.p90Seconds), "kpi-first-p90"),
            kpi(t("reports.resp50"), fmtDuration(total.resolution.p50Seconds), "kpi-resolution-p50"),
            kpi(t("reports.resp90"), fmtDuration(total.resolution.p90Seconds), "kpi-resolution-p90"),
            kpi(t("reports.breaches"), total.firstResponse.breaches + total.nextResponse.breaches + total.resolution.breaches, "kpi-breaches"),
            kpi(t("reports.csat"), total.csatAverage == null ? null : total.csatAverage.toFixed(2), "kpi-csat"),
            kpi(t("reports.nps"), total.nps == null ? null : Math.round(total.nps), "kpi-nps")));
        }
        const pick = (k) => s.map((x) => x[k]);
        const grid = h("div", { class: "charts" },
          chart(t("reports.chartFirst"), "chart-first-response", days, [
            { label: "p50", color: "#2563eb", values: pick("firstP50") }, { label: "p90", color: "#f59e0b", values: pick("firstP90") }], "line", fmtDuration, null, axisDuration),
          chart(t("reports.chartResolution"), "chart-resolution", days, [
            { label: "p50", color: "#2563eb", values: pick("resolutionP50") }, { label: "p90", color: "#f59e0b", values: pick("resolutionP90") }], "line", fmtDuration, null, axisDuration),
          chart(t("reports.chartBreaches"), "chart-breaches", days, [
            { label: t("sla.firstResponse"), color: "#dc2626", values: pick("breachesFirst") },
            { label: t("sla.nextResponse"), color: "#f97316", values: pick("breachesNext") },
            { label: t("sla.resolution"), color: "#7c3aed", values: pick("breachesResolution") }], "bars", (v) => String(Math.round(v))),
          chart(t("reports.chartBacklog"), "chart-backlog", days, [{ label: t("reports.backlog"), color: "#0891b2", values: pick("backlog") }], "bars", (v) => String(Math.round(v))),
          chart(t("reports.chartCsat"), "chart-csat", days, [{ label: t("reports.csat"), color: "#16a34a", values: pick("csat") }], "line", (v) => v.toFixed(1), [1, 5]),
          chart(t("reports.chartNps"), "chart-nps", days, [{ label: t("reports.nps"), color: "#9333ea", values: pick("nps") }], "line", (v) => String(Math.round(v)), [-100, 100]));
        out.appendChild(grid);
      }
      run();
      return { update() {}, unmount() {} };
    }
  };

  // ---------------------------------------------------------------------------------------
  // Audit: the event log (auditors)
  // ---------------------------------------------------------------------------------------
  VIEWS.audit = {
    allowed: isAuditor,
    mount(main, r) {
      document.title = t("audit.title") + " · " + t("app.name");
      const stream = h("input", { type: "text", "data-test": "audit-stream", size: "40", value: r.parts[1] || "", placeholder: "00000000-0000-0000-0000-000000000000" });
      const from = h("input", { type: "number", min: "1", "data-test": "audit-from", value: "1" });
      const to = h("input", { type: "number", min: "1", "data-test": "audit-to", value: "100" });
      const out = h("div", { class: "audit-out" });
      const showStream = (id) => {
        eventList(out, (after) => gql("query($id: UUID!, $after: String) { streamEvents(streamId: $id, first: 100, after: $after) { nodes { " + EVENT_FIELDS + " } pageInfo { hasNextPage endCursor } } }", { id, after }).then((d) => d.streamEvents));
      };
      const f1 = h("form", { class: "toolbar", onsubmit: (ev) => {
        ev.preventDefault();
        const id = stream.value.trim();
        if (!id) return;
        if (location.hash !== "#/audit/" + id) location.hash = "#/audit/" + id; else showStream(id);
      } }, field(t("audit.stream"), stream), h("button", { type: "submit", class: "primary", "data-test": "audit-show-stream" }, t("audit.show")));
      const f2 = h("form", { class: "toolbar", onsubmit: (ev) => {
        ev.preventDefault();
        const a = Number(from.value), b = Number(to.value);
        eventList(out, (after) => gql("query($a: Int!, $b: Int!, $after: String) { eventsByPosition(from: $a, to: $b, first: 100, after: $after) { nodes { " + EVENT_FIELDS + " } pageInfo { hasNextPage endCursor } } }", { a, b, after }).then((d) => d.eventsByPosition));
      } }, field(t("audit.from"), from), field(t("audit.to"), to), h("button", { type: "submit", "data-test": "audit-show-range" }, t("audit.show")));
      main.appendChild(h("div", { class: "page" }, h("h1", {}, t("audit.title")),
        h("h2", {}, t("audit.streamHeading")), f1, h("h2", {}, t("audit.range")), f2, out));
      if (r.parts[1]) showStream(r.parts[1]);
      return {
        update(r2) { if (r2.parts[1]) { stream.value = r2.parts[1]; showStream(r2.parts[1]); } },
        unmount() {}
      };
    }
  };
  // ---------------------------------------------------------------------------------------
  // Admin: inboxes, operators, webhooks
  // ---------------------------------------------------------------------------------------
  const INBOX_FULL = "id branchId title greeting color rating active createdAt updatedAt offlineMessage outsideHoursMessage autoReply workingHours { timeZone week { day periods { start end } } holidays } routingRules { region branchId } defaultBranchId defaultCapacity escalationTimeoutSecs maxAttachmentBytes attachmentTypes inactivityTimeoutSecs retentionSecs allowedOrigins sla { firstResponseSecs nextResponseSecs resolutionSecs businessHoursOnly } requiredFields visitorIdentity identitySecretRotatedAt telegramIntake inactivityCloses";
  const WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
  const ATTACHMENT_TYPES = ["JPEG", "PNG", "GIF", "WEBP", "PDF"];
  const ROLES = ["ADMIN", "MODERATOR", "MANAGER", "ANALYST", "AUDITOR"];
  const WEBHOOK_EVENTS = ["CONVERSATION_CREATED", "CONVERSATION_CLOSED", "MESSAGE_IN", "MESSAGE_OUT", "CONVERSATION_STATUS_CHANGED", "CONVERSATION_ASSIGNED", "CONVERSATION_RATED", "CALLBACK_REQUESTED", "SLA_BREACHED"];

  function widgetSnippet(token) { return '<script src="' + location.origin + '/widget.js" data-widget-token="' + token + '" async></script>'; }

  /** The snippet with its copy button, shown once after creating an inbox or rotating its token. */
  function snippetBox(token) {
    const code = widgetSnippet(token);
    const copy = h("button", { type: "button", class: "small", "data-test": "snippet-copy", onclick: (ev) => copyText(code, ev.currentTarget) }, t("inbox.copy"));
    return h("div", { class: "secret-box", "data-test": "widget-snippet" },
      h("h3", {}, t("inbox.snippet")),
      h("pre", { class: "mono", "data-test": "widget-snippet-code" }, code),
      h("p", { class: "hint" }, t("inbox.snippetHint")), copy);
  }
  function secretBox(title, secret, test) {
    return h("div", { class: "secret-box", "data-test": test },
      h("h3", {}, title), h("pre", { class: "mono", "data-test": test + "-value" }, secret),
      h("button", { type: "button", class: "small", onclick: (ev) => copyText(secret, ev.currentTarget) }, t("common.copy")));
  }

  const num = (v) => (String(v).trim() === "" ? null : Number(v));
  const lines = (v) => String(v).split(/\r?\n|,/).map((x) => x.trim()).filter(Boolean);

  function parsePeriods(text) {
    return String(text).split(",").map((x) => x.trim()).filter(Boolean).map((p) => {
      const m = /^(\d{1,2}):?(\d{2})\s*[-–—]\s*(\d{1,2}):?(\d{2})$/.exec(p);
      if (!m) throw new ApiError("MALFORMED_FIELD", { field: t("inbox.f.workingHours") + " (" + p + ")" });
      return { start: m[1].padStart(2, "0") + ":" + m[2], end: m[3].padStart(2, "0") + ":" + m[4] };
    });
  }

  /** The inbox settings form: every field of InboxSettingsInput. */
  function inboxForm(inbox, onSubmit, submitLabel) {
    const i = inbox || {};
    const sla = i.sla || {};
    const wh = i.workingHours;
    const alwaysOpenNow = !wh || (wh.week.length === 7 && wh.week.every((d) => d.periods.length === 1 && d.periods[0].start === "00:00" && d.periods[0].end === "24:00") && !wh.holidays.length);
    const el = {};
    const inp = (name, value, attrs) => (el[name] = h("input", Object.assign({ type: "text", name, "data-test": "inbox-" + name, value: value == null ? "" : value }, attrs || {})));
    const area = (name, value, rows) => (el[name] = h("textarea", { name, rows: String(rows || 2), "data-test": "inbox-" + name }, value == null ? "" : value));
    const check = (name, checked, label) => h("label", { class: "check" }, (el[name] = h("input", { type: "checkbox", name, "data-test": "inbox-" + name, checked: !!checked })), label);
    const checks = (name, all, chosen, label) => h("fieldset", { class: "checks", "data-test": "inbox-" + name },
      h("legend", {}, label), all.map(([v, l]) => h("label", { class: "check" }, h("input", { type: "checkbox", name, value: v, checked: (chosen || []).includes(v) }), l)));
    const minutes = (secs) => (secs == null ? "" : String(Math.round(secs / 60)));
    const colorPick = h("input", { type: "color", value: i.color || "#2563eb", "aria-label": t("inbox.f.color") });
    const colorText = inp("color", i.color || "", { placeholder: "#2563eb", size: "9" });
    colorPick.addEventListener("input", () => { colorText.value = colorPick.value; });
    colorText.addEventListener("input", () => { if (/^#[0-9a-f]{6}$/i.test(colorText.value)) colorPick.value = colorText.value; });
    const always = check("alwaysOpen", alwaysOpenNow, t("inbox.f.alwaysOpen"));
    const dayInputs = {};
    const hoursBox = h("div", { class: "hours", hidden: alwaysOpenNow },
      field(t("inbox.f.timeZone"), inp("timeZone", wh ? wh.timeZone : (Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"))),
      h("p", { class: "hint" }, t("inbox.f.periodsHint")),
      WEEKDAYS.map((d) => {
        const day = wh && wh.week.find((x) => x.day === d);
        const value = day ? day.periods.map((p) => p.start + "-" + p.end).join(", ") : (wh ? "" : (["SAT", "SUN"].includes(d) ? "" : "09:00-18:00"));
        dayInputs[d] = h("input", { type: "text", "data-test": "inbox-hours-" + d, value, "aria-label": t("day." + d) });
        return h("div", { class: "day-row" }, h("span", { class: "day" }, t("day." + d)), dayInputs[d]);
      }),
      field(t("inbox.f.holidays"), inp("holidays", wh ? wh.holidays.join(", ") : "")));
    el.alwaysOpen.addEventListener("change", () => { hoursBox.hidden = el.alwaysOpen.checked; });
    const err = errorBox("inbox-form-error");
    const submit = h("button", { type: "submit", class: "primary", "data-test": "inbox-save" }, submitLabel);
    const form = h("form", { class: "settings", novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      await act(submit, async () => { await onSubmit(settings(), el.branchId ? el.branchId.value.trim() || null : undefined); }, err);
    } },
      h("div", { class: "grid2" },
        field(t("inbox.f.title"), inp("title", i.title, { required: true })),
        inbox ? null : field(t("inbox.f.branchId"), inp("branchId", "")),
        field(t("inbox.f.color"), h("div", { class: "inline" }, colorPick, colorText)),
        field(t("inbox.f.rating"), (el.rating = select({ "data-test": "inbox-rating" }, ["NONE", "CSAT", "NPS"].map((r) => [r, t("rating." + r)]), i.rating || "NONE")))),
      field(t("inbox.f.greeting"), area("greeting", i.greeting)),
      field(t("inbox.f.offlineMessage"), area("offlineMessage", i.offlineMessage)),
      field(t("inbox.f.outsideHoursMessage"), area("outsideHoursMessage", i.outsideHoursMessage)),
      field(t("inbox.f.autoReply"), area("autoReply", i.autoReply)),
      h("fieldset", {}, h("legend", {}, t("inbox.f.workingHours")), always, hoursBox),
      h("fieldset", {}, h("legend", {}, t("inbox.f.sla")),
        h("div", { class: "grid3" },
          field(t("inbox.f.slaFirst"), inp("slaFirst", minutes(sla.firstResponseSecs), { type: "number", min: "1" })),
          field(t("inbox.f.slaNext"), inp("slaNext", minutes(sla.nextResponseSecs), { type: "number", min: "1" })),
          field(t("inbox.f.slaResolution"), inp("slaResolution", minutes(sla.resolutionSecs), { type: "number", min: "1" }))),
        check("businessHoursOnly", sla.businessHoursOnly, t("inbox.f.businessHoursOnly"))),
      h("div", { class: "grid2" },
        field(t("inbox.f.defaultCapacity"), inp("defaultCapacity", i.defaultCapacity == null ? 5 : i.defaultCapacity, { type: "number", min: "1" })),
        field(t("inbox.f.escalation"), inp("escalation", i.escalationTimeoutSecs == null ? 240 : i.escalationTimeoutSecs, { type: "number", min: "1" })),
        field(t("inbox.f.inactivity"), inp("inactivity", minutes(i.inactivityTimeoutSecs), { type: "number", min: "1" })),
        field(t("inbox.f.inactivityCloses"), (el.inactivityCloses = select({ "data-test": "inbox-inactivityCloses" }, ["WAITING_ON_CONTACT", "ANY_IDLE"].map((r) => [r, t("inactivity." + r)]), i.inactivityCloses || "WAITING_ON_CONTACT"))),
        field(t("inbox.f.retention"), inp("retention", i.retentionSecs == null ? "" : String(Math.round(i.retentionSecs / 86400)), { type: "number", min: "1" })),
        field(t("inbox.f.maxAttachment"), inp("maxAttachment", ((i.maxAttachmentBytes || 10485760) / 1048576).toString(), { type: "number", min: "0.1", step: "0.1" }))),
      checks("attachmentTypes", ATTACHMENT_TYPES.map((x) => [x, x]), i.attachmentTypes || ATTACHMENT_TYPES, t("inbox.f.attachmentTypes")),
      checks("requiredFields", ["NAME", "EMAIL", "PHONE"].map((x) => [x, t("field." + x)]), i.requiredFields || [], t("inbox.f.requiredFields")),
      field(t("inbox.f.visitorIdentity"), (el.visitorIdentity = select({ "data-test": "inbox-visitorIdentity" }, ["OPTIONAL", "REQUIRED"].map((r) => [r, t("identity." + r)]), i.visitorIdentity || "OPTIONAL"))),
      field(t("inbox.f.allowedOrigins"), area("allowedOrigins", (i.allowedOrigins || []).join("\n"), 3)),
      h("div", { class: "grid2" },
        field(t("inbox.f.routing"), area("routing", (i.routingRules || []).map((r) => r.region + " = " + r.branchId).join("\n"), 3)),
        field(t("inbox.f.defaultBranch"), inp("defaultBranch", i.defaultBranchId || ""))),
      check("telegramIntake", i.telegramIntake, t("inbox.f.telegramIntake")),
      err, h("div", { class: "btn-row" }, submit));

    function settings() {
      const checked = (name) => [...form.querySelectorAll('input[name="' + name + '"]:checked')].map((x) => x.value);
      const secs = (v, mult) => (num(v) == null ? null : Math.round(num(v) * mult));
      const slaIn = { firstResponseSecs: secs(el.slaFirst.value, 60), nextResponseSecs: secs(el.slaNext.value, 60), resolutionSecs: secs(el.slaResolution.value, 60), businessHoursOnly: el.businessHoursOnly.checked };
      const types = checked("attachmentTypes");
      const out = {
        title: el.title.value.trim(),
        greeting: el.greeting.value.trim() || null,
        color: el.color.value.trim() || null,
        rating: el.rating.value,
        offlineMessage: el.offlineMessage.value.trim() || null,
        outsideHoursMessage: el.outsideHoursMessage.value.trim() || null,
        autoReply: el.autoReply.value.trim() || null,
        routingRules: lines(el.routing.value.replace(/,/g, "\n")).map((l) => {
          const [region, branchId] = l.split(/\s*[=:]\s*|\s+/);
          return { region, branchId };
        }),
        defaultBranchId: el.defaultBranch.value.trim() || null,
        defaultCapacity: num(el.defaultCapacity.value) || 5,
        escalationTimeoutSecs: num(el.escalation.value) || 240,
        maxAttachmentBytes: Math.round((num(el.maxAttachment.value) || 10) * 1048576),
        attachmentTypes: types.length === ATTACHMENT_TYPES.length ? null : types,
        inactivityTimeoutSecs: secs(el.inactivity.value, 60),
        retentionSecs: secs(el.retention.value, 86400),
        allowedOrigins: lines(el.allowedOrigins.value),
        requiredFields: checked("requiredFields"),
        visitorIdentity: el.visitorIdentity.value,
        telegramIntake: el.telegramIntake.checked,
        inactivityCloses: el.inactivityCloses.value,
        sla: slaIn.firstResponseSecs == null && slaIn.nextResponseSecs == null && slaIn.resolutionSecs == null && !slaIn.businessHoursOnly ? null : slaIn
      };
      if (!el.alwaysOpen.checked) {
        out.workingHours = {
          timeZone: el.timeZone.value.trim() || "UTC",
          week: WEEKDAYS.map((d) => ({ day: d, periods: parsePeriods(dayInputs[d].value) })).filter((d) => d.periods.length),
          holidays: lines(el.holidays.value)
        };
      } else out.workingHours = null;
      return out;
    }
    return form;
  }

  function adminTabs(active) {
    return h("nav", { class: "tabs", "aria-label": t("admin.title") },
      [["inboxes", t("admin.inboxes")], ["operators", t("admin.operators")], ["webhooks", t("admin.webhooks")]].map(([k, label]) =>
        h("a", { href: "#/admin/" + k, class: "tab", "data-test": "admin-tab-" + k, "aria-selected": String(k === active), "aria-current": k === active ? "page" : null }, label)));
  }

  VIEWS.admin = {
    allowed: () => hasRole("ADMIN"),
    mount(main, r) {
      let container = main;
      const view = {
        update(r2) {
          clear(container);
          const section = r2.parts[1] || "inboxes";
          document.title = t("admin.title") + " · " + t("app.name");
          const page = h("div", { class: "page" }, h("h1", {}, t("admin.title")), adminTabs(section));
          container.appendChild(page);
          if (section === "inboxes") adminInboxes(page, r2.parts[2]);
          else if (section === "operators") adminOperators(page);
          else if (section === "webhooks") adminWebhooks(page, r2.parts[2]);
        },
        unmount() {}
      };
      view.update(r);
      return view;
    }
  };

  async function adminInboxes(page, id) {
    const body = h("div", {});
    page.appendChild(body);
    const err = errorBox("admin-error");
    body.appendChild(err);
    let inboxes;
    try {
      // An inbox just created reaches the read side a moment later: a few more reads before
      // saying it does not exist.
      for (let i = 0; ; i++) {
        inboxes = (await gql("{ inboxes { " + INBOX_FULL + " } }")).inboxes;
        if (!id || id === "new" || inboxes.some((x) => x.id === id) || i >= 30 || !body.isConnected) break;
        await sleep(250);
      }
    } catch (e) { err.show(e); return; }
    if (!body.isConnected) return;
    S.inboxes = inboxes;
    if (id === "new") {
      const out = h("div", {});
      const form = inboxForm(null, async (settings, branchId) => {
        const d = await gql("mutation($input: CreateInboxInput!) { createInbox(input: $input) { inboxId widgetToken } }", { input: { branchId: branchId || null, settings } });
        // Created: the form goes (a second click would create a second inbox); its page edits it.
        form.remove();
        clear(out).appendChild(snippetBox(d.createInbox.widgetToken));
        out.appendChild(h("p", {}, h("a", { href: "#/admin/inboxes/" + d.createInbox.inboxId, "data-test": "inbox-open-created" }, t("admin.edit"))));
        out.scrollIntoView({ block: "start" });
        toast(t("admin.saved"));
      }, t("admin.create"));
      append(body, [h("h2", {}, t("admin.newInbox")), out, form]);
      return;
    }
    if (id) {
      const inbox = inboxes.find((i) => i.id === id);
      if (!inbox) { err.show(new ApiError("INBOX_NOT_FOUND")); return; }
      const out = h("div", {});
      const rotate = h("button", { type: "button", "data-test": "inbox-rotate-token", onclick: (ev) => {
        if (!confirm(t("inbox.rotateConfirm"))) return;
        act(ev.currentTarget, async () => {
          const d = await gql("mutation($id: UUID!) { rotateWidgetToken(inboxId: $id) { widgetToken } }", { id });
          clear(out).appendChild(snippetBox(d.rotateWidgetToken.widgetToken));
        });
      } }, t("inbox.rotateToken"));
      const secret = h("button", { type: "button", "data-test": "inbox-rotate-secret", onclick: (ev) => {
        if (inbox.identitySecretRotatedAt && !confirm(t("inbox.secretConfirm"))) return;
        act(ev.currentTarget, async () => {
          const d = await gql("mutation($id: UUID!) { rotateIdentitySecret(inboxId: $id) { secret } }", { id });
          clear(out).appendChild(secretBox(t("inbox.secret"), d.rotateIdentitySecret.secret, "identity-secret"));
        });
      } }, t("inbox.rotateSecret"));
      const active = h("button", { type: "button", "data-test": "inbox-toggle-active", onclick: (ev) => act(ev.currentTarget, async () => {
        await gql("mutation($id: UUID!, $a: Boolean!) { setInboxActive(inboxId: $id, active: $a) { changed } }", { id, a: !inbox.active });
        inbox.active = !inbox.active;
        ev.currentTarget.textContent = inbox.active ? t("admin.deactivateInbox") : t("admin.activate");
        toast(t("admin.saved"));
      }) }, inbox.active ? t("admin.deactivateInbox") : t("admin.activate"));
      append(body, [
        h("h2", { "data-test": "inbox-heading" }, inbox.title, " ", h("span", { class: "pill " + (inbox.active ? "ok" : "off") }, inbox.active ? t("admin.active") : t("admin.inactive"))),
        h("p", { class: "muted mono small" }, inbox.id + (inbox.branchId ? " · " + t("admin.branch") + " " + inbox.branchId : " · " + t("admin.global"))),
        h("p", { class: "muted small" }, inbox.identitySecretRotatedAt ? t("inbox.secretRotatedAt", { when: fmtDateTime(inbox.identitySecretRotatedAt) }) : t("inbox.noSecret")),
        h("div", { class: "btn-row" }, rotate, secret, active),
        out,
        inboxForm(inbox, async (settings) => {
          await gql("mutation($id: UUID!, $s: InboxSettingsInput!) { updateInbox(inboxId: $id, settings: $s) { changed } }", { id, s: settings });
          toast(t("admin.saved"));
        }, t("admin.save"))]);
      return;
    }
    body.appendChild(h("div", { class: "btn-row" }, h("a", { href: "#/admin/inboxes/new", class: "button primary", "data-test": "inbox-new" }, t("admin.newInbox"))));
    body.appendChild(h("table", { class: "table", "data-test": "inboxes-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("inbox.f.title")), h("th", {}, t("admin.branch")), h("th", {}, t("inbox.f.rating")), h("th", {}, t("op.state")))),
      h("tbody", {}, inboxes.map((i) => h("tr", { "data-test": "inbox-item", "data-id": i.id },
        h("td", {}, h("span", { class: "swatch", style: "background:" + (i.color || "#cbd5e1") }), h("a", { href: "#/admin/inboxes/" + i.id }, i.title)),
        h("td", { class: "mono small" }, i.branchId ? shortId(i.branchId) : t("admin.global")),
        h("td", {}, t("rating." + i.rating)),
        h("td", {}, h("span", { class: "pill " + (i.active ? "ok" : "off") }, i.active ? t("admin.active") : t("admin.inactive"))))))));
  }

  function profileForm(op, onSubmit, label, withEmail) {
    const name = h("input", { type: "text", "data-test": "operator-name-input", value: op ? op.name : "", required: true });
    const email = h("input", { type: "email", "data-test": "operator-email-input", value: op ? op.email || "" : "", required: !!withEmail });
    const branch = h("input", { type: "text", "data-test": "operator-branch-input", value: op ? op.branchId || "" : "" });
    const capacity = h("input", { type: "number", min: "1", max: "1000", "data-test": "operator-capacity-input", value: op && op.capacity != null ? op.capacity : "" });
    const roleBoxes = ROLES.map((r) => h("label", { class: "check" }, h("input", { type: "checkbox", value: r, "data-test": "operator-role-" + r, checked: op ? op.roles.includes(r) : r === "MODERATOR" }), t("role." + r)));
    const err = errorBox("operator-form-error");
    const submit = h("button", { type: "submit", class: "primary", "data-test": "operator-save" }, label);
    return h("form", { class: "settings", novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const profile = {
        name: name.value.trim(),
        roles: roleBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value),
        branchId: branch.value.trim() || null,
        capacity: num(capacity.value),
        email: email.value.trim() || null
      };
      if (!profile.name) { err.show(new ApiError("EMPTY_FIELD", { field: "name" })); return; }
      if (withEmail && !profile.email) { err.show(new ApiError("EMPTY_FIELD", { field: "email" })); return; }
      await act(submit, () => onSubmit(profile), err);
    } },
      h("div", { class: "grid2" }, field(t("op.name"), name), field(t("op.email"), email), field(t("op.branch"), branch), field(t("op.capacity"), capacity)),
      h("fieldset", { class: "checks" }, h("legend", {}, t("op.roles")), roleBoxes),
      err, h("div", { class: "btn-row" }, submit));
  }

  /** The invitation link an admin hands over themselves, with its copy button. */
  function invitationLinkBox(name, url) {
    return h("div", { class: "secret-box", "data-test": "invitation-link" },
      h("h3", {}, t("op.invitationLink")),
      h("pre", { class: "mono", "data-test": "invitation-link-value" }, url),
      h("p", { class: "hint", "data-test": "invitation-link-hint" }, t("op.invitationLinkHint", { name })),
      h("button", { type: "button", class: "small", "data-test": "invitation-link-copy", onclick: (ev) => copyText(url, ev.currentTarget) }, t("common.copy")));
  }

  async function adminOperators(page) {
    const body = h("div", {});
    page.appendChild(body);
    const invite = h("details", { class: "panel", "data-test": "invite" }, h("summary", { "data-test": "invite-open" }, t("op.invite")),
      profileForm(null, async (profile) => {
        const email = profile.email;
        delete profile.email;
        const d = await gql("mutation($input: InviteOperatorInput!) { inviteOperator(input: $input) { operatorId invitationPath } }", { input: { email, profile } });
        toast(t("op.invited", { email }));
        // The link itself, for when the e-mail does not reach them (or none is set up).
        if (d.inviteOperator.invitationPath) clear(linkBox).appendChild(invitationLinkBox(profile.name, location.origin + d.inviteOperator.invitationPath));
        const id = d.inviteOperator.operatorId;
        await draw((ops) => ops.some((o) => o.id === id));
      }, t("op.inviteSend"), true));
    const linkBox = h("div", {});
    const tableBox = h("div", {});
    append(body, [invite, linkBox, tableBox]);
    /** Draws the list; `settled(operators)`: what a change just made must show (the read side
     * follows the log a moment later), read again until it does, for a few seconds. */
    async function draw(settled) {
      for (let i = 0; ; i++) {
        await loadOperators();
        if (!settled || settled(S.operators || []) || i >= 30 || !tableBox.isConnected) break;
        await sleep(250);
      }
      if (!tableBox.isConnected) return;
      clear(tableBox);
      const ops = S.operators || [];
      tableBox.appendChild(h("table", { class: "table", "data-test": "operators-table" },
        h("thead", {}, h("tr", {}, [t("op.name"), t("op.email"), t("op.roles"), t("admin.branch"), t("op.status"), t("op.load"), t("op.state"), ""].map((x) => h("th", {}, x)))),
        h("tbody", {}, ops.map((o) => {
          const edit = h("tr", { class: "edit-row", hidden: true }, h("td", { colspan: "8" }, profileForm(o, async (profile) => {
            await gql("mutation($id: UUID!, $p: OperatorProfileInput!) { updateOperator(operatorId: $id, profile: $p) { changed } }", { id: o.id, p: profile });
            toast(t("admin.saved"));
            await draw();
          }, t("admin.save"))));
          const state = o.active === false ? t("op.deactivated") : o.invitationPending ? t("op.pending") : t("op.activeYes");
          const toggle = o.active === false
            ? h("button", { type: "button", class: "small", "data-test": "operator-reactivate", onclick: (ev) => act(ev.currentTarget, async () => { await gql("mutation($id: UUID!) { reactivateOperator(operatorId: $id) { changed } }", { id: o.id }); await draw(); }) }, t("op.reactivate"))
            : (S.me && o.id === S.me.id ? null : h("button", { type: "button", class: "small danger", "data-test": "operator-deactivate", onclick: (ev) => { if (confirm(t("op.deactivateConfirm", { name: o.name }))) act(ev.currentTarget, async () => { await gql("mutation($id: UUID!) { deactivateOperator(operatorId: $id) { changed } }", { id: o.id }); await draw(); }); } }, t("op.deactivate")));
          return [h("tr", { "data-test": "operator-item", "data-id": o.id, class: o.active === false ? "muted" : null },
            h("td", {}, o.name, o.telegramLinked ? h("span", { class: "pill small", title: t("op.telegram") }, "TG") : null),
            h("td", {}, o.email || ""),
            h("td", {}, o.roles.map((r) => t("role." + r)).join(", ")),
            h("td", { class: "mono small" }, o.branchId ? shortId(o.branchId) : t("details.headOffice")),
            h("td", {}, h("span", { class: "op-status", "data-status": o.status }, t("opStatus." + o.status))),
            h("td", {}, String(o.load) + (o.capacity ? " / " + o.capacity : "")),
            h("td", { "data-test": "operator-state" }, state),
            h("td", {}, h("div", { class: "btn-cell" }, h("button", { type: "button", class: "small ghost", "data-test": "operator-edit", onclick: () => { edit.hidden = !edit.hidden; } }, t("admin.edit")), toggle))), edit];
        }))));
    }
    await draw().catch((e) => body.appendChild(h("p", { class: "error", role: "alert" }, sentence(e))));
  }

  async function adminWebhooks(page, inboxId) {
    const body = h("div", {});
    page.appendChild(body);
    const inboxes = S.inboxes || (await gql("{ inboxes { id title branchId active } }")).inboxes;
    const pick = select({ "data-test": "webhook-inbox", "aria-label": t("wh.inbox") }, [["", "—"]].concat(inboxes.map((i) => [i.id, i.title])), inboxId || "");
    pick.addEventListener("change", () => { location.hash = "#/admin/webhooks/" + pick.value; });
    body.appendChild(field(t("wh.inbox"), pick));
    if (!inboxId) return;
    const out = h("div", {});
    const list = h("div", {});
    const eventChecks = (chosen) => h("fieldset", { class: "checks" }, h("legend", {}, t("wh.events")),
      WEBHOOK_EVENTS.map((e) => h("label", { class: "check" }, h("input", { type: "checkbox", value: e, checked: (chosen || []).includes(e) }), e)));
    const url = h("input", { type: "url", "data-test": "webhook-url", placeholder: "https://" });
    const evs = eventChecks(["MESSAGE_IN", "CONVERSATION_CREATED"]);
    const err = errorBox("webhook-error");
    const reg = h("button", { type: "submit", class: "primary", "data-test": "webhook-register" }, t("wh.register"));
    body.appendChild(h("details", { class: "panel" }, h("summary", {}, t("wh.register")),
      h("form", { class: "settings", onsubmit: async (ev) => {
        ev.preventDefault();
        await act(reg, async () => {
          const d = await gql("mutation($input: RegisterWebhookEndpointInput!) { registerWebhookEndpoint(input: $input) { endpointId secret } }", { input: { inboxId, url: url.value.trim(), eventTypes: [...evs.querySelectorAll("input:checked")].map((x) => x.value) } });
          clear(out).appendChild(secretBox(t("wh.secret"), d.registerWebhookEndpoint.secret, "webhook-secret"));
          url.value = "";
          const id = d.registerWebhookEndpoint.endpointId;
          await draw((eps) => eps.some((e) => e.id === id));
        }, err);
      } }, field(t("wh.url"), url), evs, err, reg)));
    append(body, [out, h("h2", {}, t("wh.endpoints")), list]);

    /** Draws the endpoints; `settled(endpoints)`: what a change just made must show (the read
     * side follows the log a moment later), read again until it does, for a few seconds. */
    async function draw(settled) {
      let d;
      for (let i = 0; ; i++) {
        d = await gql("query($id: UUID!) { webhookEndpoints(inboxId: $id) { id url eventTypes enabled disabledReason disabledDetail disabledAt registeredAt secretRotatedAt updatedAt } }", { id: inboxId });
        if (!settled || settled(d.webhookEndpoints) || i >= 30) break;
        await sleep(250);
      }
      clear(list);
      if (!d.webhookEndpoints.length) { list.appendChild(h("p", { class: "muted", "data-test": "webhooks-empty" }, t("wh.none"))); return; }
      for (const ep of d.webhookEndpoints) {
        const deliveries = h("div", { class: "deliveries" });
        const editUrl = h("input", { type: "url", value: ep.url, "aria-label": t("wh.url") });
        const editEvents = eventChecks(ep.eventTypes);
        const editForm = h("form", { class: "settings", hidden: true, onsubmit: (ev) => { ev.preventDefault(); act(ev.submitter, async () => {
          await gql("mutation($id: UUID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(endpointId: $id, input: $input) { changed } }", { id: ep.id, input: { url: editUrl.value.trim(), eventTypes: [...editEvents.querySelectorAll("input:checked")].map((x) => x.value) } });
          toast(t("admin.saved")); await draw();
        }); } }, field(t("wh.url"), editUrl), editEvents, h("button", { type: "submit", class: "primary" }, t("admin.save")));
        list.appendChild(h("section", { class: "panel endpoint", "data-test": "webhook-endpoint", "data-id": ep.id },
          h("div", { class: "row-top" }, h("strong", { class: "mono" }, ep.url),
            h("span", { class: "pill " + (ep.enabled ? "ok" : "off"), "data-test": "webhook-state" }, ep.enabled ? t("wh.enabled") : t("wh.disabled") + (ep.disabledReason ? " · " + ep.disabledReason : ""))),
          ep.disabledDetail ? h("p", { class: "muted small" }, ep.disabledDetail) : null,
          h("p", { class: "small" }, ep.eventTypes.join(", ")),
          h("div", { class: "btn-row" },
            h("button", { type: "button", class: "small ghost", onclick: () => { editForm.hidden = !editForm.hidden; } }, t("admin.edit")),
            ep.enabled
              ? h("button", { type: "button", class: "small", "data-test": "webhook-disable", onclick: (ev) => act(ev.currentTarget, async () => { await gql("mutation($id: UUID!) { disableWebhookEndpoint(endpointId: $id) { changed } }", { id: ep.id }); await draw((eps) => eps.some((e) => e.id === ep.id && !e.enabled)); }) }, t("wh.disable"))
              : h("button", { type: "button", class: "small", "data-test": "webhook-enable", onclick: (ev) => act(ev.currentTarget, async () => { await gql("mutation($id: UUID!) { enableWebhookEndpoint(endpointId: $id) { changed } }", { id: ep.id }); await draw((eps) => eps.some((e) => e.id === ep.id && e.enabled)); }) }, t("wh.enable")),
            h("button", { type: "button", class: "small", "data-test": "webhook-rotate", onclick: (ev) => { if (confirm(t("wh.rotateConfirm"))) act(ev.currentTarget, async () => {
              const r = await gql("mutation($id: UUID!) { rotateWebhookSecret(endpointId: $id) { secret } }", { id: ep.id });
              clear(out).appendChild(secretBox(t("wh.secret"), r.rotateWebhookSecret.secret, "webhook-secret"));
            }); } }, t("wh.rotate")),
            h("button", { type: "button", class: "small", "data-test": "webhook-deliveries", onclick: () => showDeliveries(ep, deliveries) }, t("wh.deliveries"))),
          editForm, deliveries));
      }
    }
    await draw().catch((e) => list.appendChild(h("p", { class: "error", role: "alert" }, sentence(e))));
  }

  function showDeliveries(ep, box) {
    clear(box);
    const status = select({ "aria-label": t("wh.deliveries"), "data-test": "delivery-status-filter" }, [["", t("wh.anyStatus")], ["PENDING", t("whStatus.PENDING")], ["DELIVERED", t("whStatus.DELIVERED")], ["DEAD", t("whStatus.DEAD")]], "");
    const list = h("ol", { class: "delivery-list" });
    const more = h("button", { type: "button", class: "ghost small", hidden: true }, t("inbox.loadMore"));
    let after = null;
    let again = null;
    const load = async (reset) => {
      clearTimeout(again);
      await act(more, async () => {
        const d = await gql("query($id: UUID!, $s: WebhookDeliveryStatus, $after: String) { webhookDeliveries(endpointId: $id, status: $s, first: 20, after: $after) { nodes { id eventId conversationId eventType body status attemptCount nextAttemptAt createdAt deliveredAt deadAt attempts { number startedAt durationMs statusCode error responseBody succeeded } } pageInfo { hasNextPage endCursor } } }", { id: ep.id, s: status.value || null, after: reset ? null : after });
        // Cleared only now: the list does not blink empty while it reloads.
        if (reset) clear(list);
        for (const dl of d.webhookDeliveries.nodes) list.appendChild(deliveryEl(dl, () => load(true)));
        after = d.webhookDeliveries.pageInfo.endCursor;
        more.hidden = !d.webhookDeliveries.pageInfo.hasNextPage;
        if (!list.children.length) list.appendChild(h("li", { class: "muted", "data-test": "deliveries-empty" }, t("wh.noDeliveries")));
        // A delivery still being tried (a redelivery, say) is looked at again until it settles.
        if (reset && list.isConnected && d.webhookDeliveries.nodes.some((dl) => dl.status === "PENDING")) again = setTimeout(() => { if (list.isConnected) load(true); }, 2000);
      });
    };
    status.addEventListener("change", () => load(true));
    more.addEventListener("click", () => load(false));
    append(box, [h("h3", {}, t("wh.deliveries")), status, list, more]);
    load(true);
  }

  function deliveryEl(dl, reload) {
    const canRedeliver = dl.status === "DELIVERED" || dl.status === "DEAD";
    return h("li", { class: "delivery", "data-test": "webhook-delivery", "data-status": dl.status },
      h("div", { class: "row-top" },
        h("strong", {}, dl.eventType),
        h("span", { class: "pill wh-" + dl.status, "data-test": "delivery-status" }, t("whStatus." + dl.status)),
        h("span", { class: "muted small" }, fmtDateTime(dl.createdAt) + " · " + t("wh.attempts") + ": ", h("span", { "data-test": "delivery-attempt-count" }, String(dl.attemptCount))),
        dl.nextAttemptAt ? h("span", { class: "muted small" }, t("wh.nextAttempt", { when: fmtDateTime(dl.nextAttemptAt) })) : null,
        canRedeliver ? h("button", { type: "button", class: "small", "data-test": "webhook-redeliver", onclick: (ev) => act(ev.currentTarget, async () => {
          await gql("mutation($id: UUID!) { redeliverWebhook(deliveryId: $id) { id status } }", { id: dl.id });
          toast(t("action.done"));
          reload();
        }) }, t("wh.redeliver")) : null),
      h("details", {}, h("summary", {}, t("wh.attempts") + " (" + dl.attempts.length + ")"),
        h("table", { class: "table small", "data-test": "delivery-attempts" },
          h("tbody", {}, dl.attempts.map((a) => h("tr", { "data-test": "delivery-attempt", class: a.succeeded ? "ok" : "bad" },
            h("td", {}, t("wh.attempt", { n: a.number })), h("td", {}, fmtFullTime(a.startedAt)), h("td", {}, t("wh.duration", { ms: a.durationMs })),
            h("td", {}, a.statusCode != null ? String(a.statusCode) : t("wh.noStatus")), h("td", { class: "mono small" }, a.error || a.responseBody || ""))))),
        h("p", { class: "small muted" }, t("wh.body")), h("pre", { class: "mono small" }, dl.body)));
  }
  // ---------------------------------------------------------------------------------------
  // Notifications and sound: a contact's new message in a conversation assigned to me
  // ---------------------------------------------------------------------------------------
  let audio = null;
  function unlockAudio() {
    if (audio || !(window.AudioContext || window.webkitAudioContext)) return;
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
  }
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  function beep() {
    if (!audio) return;
    try {
      if (audio.state === "suspended") audio.resume();
      const now = audio.currentTime;
      [[880, 0], [1320, 0.12]].forEach(([f, at]) => {
        const o = audio.createOscillator(), g = audio.createGain();
        o.type = "sine"; o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, now + at);
        g.gain.exponentialRampToValueAtTime(0.15, now + at + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.2);
        o.connect(g).connect(audio.destination);
        o.start(now + at); o.stop(now + at + 0.22);
      });
    } catch (e) { /* no sound */ }
  }

  async function newContactMessage(conversationId) {
    const watching = document.visibilityState === "visible" && document.hasFocus() && location.hash === "#/c/" + conversationId;
    if (watching) return;
    if (S.prefs.sound) beep();
    if (!S.prefs.notify || !("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const d = await gql("query($id: UUID!) { conversation(id: $id) { id contact { name email phone } lastMessage { body senderKind } } }", { id: conversationId });
      const c = d.conversation;
      if (!c) return;
      const n = new Notification(t("notify.newMessage", { name: contactName(c) }), { body: c.lastMessage ? c.lastMessage.body.slice(0, 200) : "", tag: "switchboard-" + conversationId });
      n.onclick = () => { window.focus(); location.hash = "#/c/" + conversationId; n.close(); };
    } catch (e) { /* a hint only */ }
  }

  // ---------------------------------------------------------------------------------------
  // Profile: notifications, sound, Telegram
  // ---------------------------------------------------------------------------------------
  VIEWS.profile = {
    allowed: () => true,
    mount(main) {
      document.title = t("nav.profile") + " · " + t("app.name");
      const page = h("div", { class: "page narrow" });
      main.appendChild(page);
      const me = S.me || {};
      page.appendChild(h("h1", {}, t("profile.title")));
      page.appendChild(h("section", { class: "panel" },
        h("p", {}, h("strong", { "data-test": "profile-name" }, me.name || ""), me.email ? " · " + me.email : ""),
        h("p", { class: "muted", "data-test": "profile-roles" }, (me.roles || []).map((r) => t("role." + r)).join(", "))));

      // Notifications
      const notifyBox = h("section", { class: "panel", "data-test": "notifications" });
      const drawNotify = () => {
        clear(notifyBox);
        append(notifyBox, [h("h2", {}, t("profile.notifications")), h("p", {}, t("profile.notifyIntro"))]);
        if (!("Notification" in window)) { notifyBox.appendChild(h("p", { class: "muted" }, t("profile.unsupported"))); }
        else if (Notification.permission === "denied") { notifyBox.appendChild(h("p", { class: "error", "data-test": "notifications-denied" }, t("profile.denied"))); }
        else if (S.prefs.notify && Notification.permission === "granted") {
          append(notifyBox, [h("p", { class: "notice", "data-test": "notifications-on" }, t("profile.enabled")),
            h("button", { type: "button", "data-test": "notifications-disable", onclick: () => { S.prefs.notify = false; savePrefs(); drawNotify(); } }, t("profile.disable"))]);
        } else {
          notifyBox.appendChild(h("button", { type: "button", class: "primary", "data-test": "notifications-enable", onclick: async () => {
            unlockAudio();
            const p = await Notification.requestPermission();
            S.prefs.notify = p === "granted"; savePrefs(); drawNotify();
          } }, t("profile.enable")));
        }
        const sound = h("input", { type: "checkbox", "data-test": "sound-toggle", checked: S.prefs.sound });
        sound.addEventListener("change", () => { S.prefs.sound = sound.checked; savePrefs(); unlockAudio(); });
        append(notifyBox, [h("div", { class: "inline" }, h("label", { class: "check" }, sound, t("profile.sound")),
          h("button", { type: "button", class: "small ghost", "data-test": "sound-test", onclick: () => { unlockAudio(); beep(); } }, t("profile.test")))]);
      };
      drawNotify();
      page.appendChild(notifyBox);

      // Telegram (TG-1): a one-time token; the operator sends `/login <token>` to the bot.
      const tg = h("section", { class: "panel", "data-test": "telegram" });
      const drawTg = (link) => {
        clear(tg);
        append(tg, [h("h2", {}, t("profile.telegram")), h("p", {}, t("profile.telegramIntro"))]);
        if (S.me && S.me.telegramLinked) tg.appendChild(h("p", { class: "notice", "data-test": "telegram-linked" }, t("profile.telegramLinked")));
        const err = errorBox("telegram-error");
        if (link) {
          const left = Math.max(0, (Date.parse(link.expiresAt) - Date.now()) / 1000);
          append(tg, [h("p", {}, t("profile.telegramSteps", { t: fmtDuration(left) })),
            h("div", { class: "inline" }, h("code", { class: "mono big", "data-test": "telegram-command" }, link.command),
              h("button", { type: "button", class: "small", onclick: (ev) => copyText(link.command, ev.currentTarget) }, t("common.copy"))),
            h("p", { class: "muted small" }, t("profile.telegramExpires", { when: fmtDateTime(link.expiresAt) }))]);
        }
        const get = h("button", { type: "button", class: "primary", "data-test": "telegram-link", onclick: (ev) => act(ev.currentTarget, async () => {
          const d = await gql("mutation { createTelegramLink { token command url expiresAt } }");
          drawTg(d.createTelegramLink);
        }, err) }, t("profile.telegramLink"));
        const unlink = S.me && S.me.telegramLinked ? h("button", { type: "button", "data-test": "telegram-unlink", onclick: (ev) => act(ev.currentTarget, async () => {
          await gql("mutation { unlinkTelegram }");
          S.me.telegramLinked = false; drawTg(null);
        }, err) }, t("profile.telegramUnlink")) : null;
        append(tg, [err, h("div", { class: "btn-row" }, get, unlink)]);
      };
      drawTg(null);
      page.appendChild(tg);
      // Linked meanwhile (the bot got /login): `me` says so.
      gql("{ me { " + ME_FIELDS + " } }").then((d) => { if (d.me) { S.me = Object.assign(S.me || {}, d.me); drawTg(null); } }).catch(() => {});
      return { update() {}, unmount() {} };
    }
  };

  // ---------------------------------------------------------------------------------------
  // Go
  // ---------------------------------------------------------------------------------------
  document.documentElement.lang = S.locale;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
