/*! Switchboard chat widget. Served by the switchboard binary as /widget.js; it loads nothing
 * else from anywhere. Embed it with one tag:
 *   <script src="https://HOST/widget.js" data-widget-token="sbw_..." async></script>
 * Optional attributes: data-locale="ru|uk|en", data-api="https://HOST" (default: where this
 * script came from), data-open="true" (start opened), data-session-token (the /chat/resume page).
 * JS API: window.Switchboard.open() / close() / toggle() / setUser({id, name, email, phone,
 * identityHash}) / setLocale("uk") / on(event, fn) / off(event, fn); events: ready, message,
 * unread, open, close (also dispatched on window as "switchboard:<event>"). Calls made before the
 * script loaded can be queued: window.Switchboard = [["setUser", {...}]].
 *
 * Hand-written, with no dependencies: the widget must stay small (BENCHMARKS.md: <= 30 KiB
 * gzipped) and a bundler would make `make run` need node. It lives in a Shadow DOM.
 */
(function () {
  "use strict";
  if (window.__switchboardWidget) return;
  window.__switchboardWidget = true;

  var script = document.currentScript;
  var queued = Array.isArray(window.Switchboard) ? window.Switchboard : [];
  var attr = function (name) { return script ? script.getAttribute(name) : null; };
  var WIDGET_TOKEN = attr("data-widget-token");
  var API = (attr("data-api") || (script && script.src ? new URL(script.src).origin : location.origin)).replace(/\/+$/, "");
  var WS_URL = API.replace(/^http/, "ws") + "/graphql";
  var LOG = "[Switchboard] ";
  // The /chat/resume page: the conversation full-page, never closed.
  var FULLPAGE = attr("data-fullpage") === "true";

  // ---------------------------------------------------------------------------------------
  // Texts, in the visitor's language. Every error a visitor can meet has a sentence here.
  // ---------------------------------------------------------------------------------------
  var TEXTS = {
    en: {
      openChat: "Open chat", closeChat: "Close chat", unreadLabel: "{n} unread", title: "Chat with us",
      name: "Name", email: "E-mail", phone: "Phone", message: "Message", required: "required",
      optional: "optional", start: "Start chat", send: "Send", attach: "Attach a file",
      writeHere: "Write a message…", joining: "An operator is joining…", joiningNamed: "{name} is joining…",
      answering: "{name} is answering", replyReceived: "Reply received", willCall: "We will call you",
      ended: "The chat has ended", you: "You", operator: "Operator", system: "Switchboard", bot: "Assistant",
      typing: "{name} is typing…", someone: "An operator", read: "Read", sending: "Sending…",
      notSent: "Not sent. Tap to try again.", callback: "Request a call-back", callbackTitle: "We will call you back",
      callbackSend: "Call me back", phoneHint: "With the country code, e.g. +380 44 123 45 67",
      phoneBad: "This does not look like a phone number: use digits and the country code, e.g. +380 44 123 45 67.",
      consentText: "I agree that my phone number and name are used to call me back about this request.",
      callbackDone: "Thank you! We will call you at {phone}.", back: "Back", telegram: "Continue in Telegram",
      telegramCommand: "Send this to our Telegram bot: {command}", endChat: "End chat", newChat: "Start a new chat",
      rateCsat: "How did we do?", rateNps: "How likely are you to recommend us to a friend?",
      rateComment: "Anything to add? (optional)", rateSend: "Send rating", rated: "Thank you for your rating!",
      csatOf: "{n} of 5", npsLow: "Not likely", npsHigh: "Very likely", offline: "No one is online right now. Leave a message and we will answer as soon as we can.",
      outside: "We are outside working hours. Leave a message and we will answer when we are back.",
      nextOpening: "We open again: {when}.", soundOn: "Sound on", soundOff: "Sound off", menu: "More",
      signInRequired: "Please sign in to the site to chat with us.", greetingFallback: "Hello! How can we help?",
      upload: "Uploading {name}… {pct}%", download: "Download {name}", fileTooBig: "{name} is too large: the limit is {size}.",
      fileType: "{name} cannot be sent: this chat takes {types}.", expired: "Your earlier chat session has expired. Start a new chat.",
      retrying: "Too many messages at once. Sending again in {s} s…", reconnecting: "Connection lost. Reconnecting…",
      honeypot: "Website", close: "Close",
      errors: {
        NETWORK: "We cannot reach the chat service. Check your connection and try again.",
        EMPTY_BODY: "Write a message first.", EMPTY_FIELD: "Please fill in: {field}.",
        MALFORMED_FIELD: "Please check {field}: it does not look right.", INVALID_WIDGET_TOKEN: "This chat is not set up correctly on this site.",
        CONSENT_REQUIRED: "Please tick the box to agree to be called back.", INBOX_INACTIVE: "This chat is switched off right now.",
        UNSUPPORTED_ATTACHMENT_TYPE: "This kind of file cannot be sent here.", EMPTY_FILE: "The file is empty.", ATTACHMENT_TOO_LARGE: "The file is too large for this chat.",
        ATTACHMENT_NOT_FOUND: "The file is no longer available.", BODY_TOO_LONG: "The message is too long: please shorten it.",
        FIELD_TOO_LONG: "One of the fields is too long: please shorten it.", INVALID_CHARACTER: "The text contains characters that cannot be sent.",
        INVALID_ARGUMENT: "Something in the request was not accepted. Please check and try again.",
        RATE_LIMITED: "Too many requests at once. Please wait a moment and try again.", SPAM_SUSPECTED: "Your message looked automated and was not sent.",
        MESSENGER_DISABLED: "The chat is switched off.", ORIGIN_NOT_ALLOWED: "This chat is not allowed on this site.",
        CONTACT_ERASED: "Your data was erased at your request, so this chat cannot continue.", CONTACT_NOT_FOUND: "We could not find your chat.",
        IDENTITY_NOT_VERIFIED: "We could not confirm your sign-in. Please sign in to the site again.",
        IDENTITY_REQUIRED: "Please sign in to the site to chat with us.", IDENTITY_NOT_CONFIGURED: "Signed-in chat is not set up on this site yet.",
        TELEGRAM_DISABLED: "Telegram is not available for this chat.", TELEGRAM_UNAVAILABLE: "Telegram cannot be reached right now. Please try later.",
        UNAVAILABLE: "The chat service is busy. Please try again in a moment.", UNAUTHENTICATED: "Your chat session has expired. Please start a new chat.",
        FORBIDDEN: "This is not allowed in this chat.", CONVERSATION_NOT_FOUND: "We could not find your chat.",
        CONVERSATION_CLOSED: "This chat is closed. Start a new one to write again.", RATING_DISABLED: "This chat does not take ratings.",
        RATING_TOO_EARLY: "You can rate the chat once it has ended.", ALREADY_RATED: "You have already rated this chat. Thank you!",
        SCORE_OUT_OF_RANGE: "Please pick one of the scores shown.", CALLBACK_ALREADY_PENDING: "You have already asked for a call-back: we will call you.",
        INVALID_CALLBACK_WINDOW: "Please check the time you gave for the call.", TOO_MANY_ATTACHMENTS: "Too many files in one message.",
        ILLEGAL_TRANSITION: "This cannot be done in the chat's current state.", INTERNAL: "Something went wrong on our side. Please try again.",
        DEFAULT: "Something went wrong. Please try again."
      }
    },
    ru: {
      openChat: "Открыть чат", closeChat: "Закрыть чат", unreadLabel: "непрочитанных: {n}", title: "Напишите нам",
      name: "Имя", email: "E-mail", phone: "Телефон", message: "Сообщение", required: "обязательно",
      optional: "необязательно", start: "Начать чат", send: "Отправить", attach: "Прикрепить файл",
      writeHere: "Напишите сообщение…", joining: "Оператор подключается…", joiningNamed: "{name} подключается…",
      answering: "{name} отвечает", replyReceived: "Получен ответ", willCall: "Мы вам перезвоним",
      ended: "Чат завершён", you: "Вы", operator: "Оператор", system: "Switchboard", bot: "Помощник",
      typing: "{name} печатает…", someone: "Оператор", read: "Прочитано", sending: "Отправляется…",
      notSent: "Не отправлено. Нажмите, чтобы повторить.", callback: "Заказать обратный звонок", callbackTitle: "Мы вам перезвоним",
      callbackSend: "Перезвоните мне", phoneHint: "С кодом страны, например +7 495 123-45-67",
      phoneBad: "Это не похоже на номер телефона: укажите цифры с кодом страны, например +7 495 123-45-67.",
      consentText: "Я согласен(на), что мой номер телефона и имя будут использованы, чтобы перезвонить мне по этому обращению.",
      callbackDone: "Спасибо! Мы перезвоним вам по номеру {phone}.", back: "Назад", telegram: "Продолжить в Telegram",
      telegramCommand: "Отправьте это нашему Telegram-боту: {command}", endChat: "Завершить чат", newChat: "Начать новый чат",
      rateCsat: "Как мы справились?", rateNps: "Насколько вероятно, что вы порекомендуете нас другу?",
      rateComment: "Хотите что-то добавить? (необязательно)", rateSend: "Отправить оценку", rated: "Спасибо за оценку!",
      csatOf: "{n} из 5", npsLow: "Маловероятно", npsHigh: "Очень вероятно", offline: "Сейчас никого нет на связи. Оставьте сообщение — мы ответим, как только сможем.",
      outside: "Сейчас нерабочее время. Оставьте сообщение — мы ответим, когда вернёмся.",
      nextOpening: "Мы снова на связи: {when}.", soundOn: "Звук включён", soundOff: "Звук выключен", menu: "Ещё",
      signInRequired: "Войдите на сайт, чтобы написать нам.", greetingFallback: "Здравствуйте! Чем можем помочь?",
      upload: "Загружается {name}… {pct}%", download: "Скачать {name}", fileTooBig: "Файл {name} слишком большой: не больше {size}.",
      fileType: "Файл {name} нельзя отправить: в этот чат можно отправлять {types}.", expired: "Срок прежнего сеанса чата истёк. Начните новый чат.",
      retrying: "Слишком много сообщений сразу. Повторная отправка через {s} с…", reconnecting: "Связь потеряна. Переподключаемся…",
      honeypot: "Сайт", close: "Закрыть",
      errors: {
        NETWORK: "Не удаётся связаться с чатом. Проверьте подключение и попробуйте снова.",
        EMPTY_BODY: "Сначала напишите сообщение.", EMPTY_FIELD: "Заполните поле: {field}.",
        MALFORMED_FIELD: "Проверьте поле «{field}»: похоже, в нём ошибка.", INVALID_WIDGET_TOKEN: "Чат на этом сайте настроен неправильно.",
        CONSENT_REQUIRED: "Отметьте согласие на обратный звонок.", INBOX_INACTIVE: "Чат сейчас отключён.",
        UNSUPPORTED_ATTACHMENT_TYPE: "Такой файл сюда отправить нельзя.", EMPTY_FILE: "Файл пустой.", ATTACHMENT_TOO_LARGE: "Файл слишком большой для этого чата.",
        ATTACHMENT_NOT_FOUND: "Файл больше недоступен.", BODY_TOO_LONG: "Сообщение слишком длинное: сократите его.",
        FIELD_TOO_LONG: "Одно из полей слишком длинное: сократите его.", INVALID_CHARACTER: "В тексте есть символы, которые нельзя отправить.",
        INVALID_ARGUMENT: "Запрос не принят. Проверьте данные и попробуйте снова.",
        RATE_LIMITED: "Слишком много запросов сразу. Подождите немного и попробуйте снова.", SPAM_SUSPECTED: "Сообщение похоже на автоматическое и не было отправлено.",
        MESSENGER_DISABLED: "Чат отключён.", ORIGIN_NOT_ALLOWED: "Этот чат не разрешён на этом сайте.",
        CONTACT_ERASED: "Ваши данные удалены по вашему запросу, поэтому этот чат нельзя продолжить.", CONTACT_NOT_FOUND: "Мы не нашли ваш чат.",
        IDENTITY_NOT_VERIFIED: "Не удалось подтвердить ваш вход. Войдите на сайт заново.",
        IDENTITY_REQUIRED: "Войдите на сайт, чтобы написать нам.", IDENTITY_NOT_CONFIGURED: "Чат для вошедших пользователей на этом сайте ещё не настроен.",
        TELEGRAM_DISABLED: "Telegram для этого чата недоступен.", TELEGRAM_UNAVAILABLE: "Telegram сейчас недоступен. Попробуйте позже.",
        UNAVAILABLE: "Чат сейчас перегружен. Попробуйте через минуту.", UNAUTHENTICATED: "Сеанс чата истёк. Начните новый чат.",
        FORBIDDEN: "В этом чате так нельзя.", CONVERSATION_NOT_FOUND: "Мы не нашли ваш чат.",
        CONVERSATION_CLOSED: "Этот чат закрыт. Начните новый, чтобы написать снова.", RATING_DISABLED: "В этом чате нет оценки.",
        RATING_TOO_EARLY: "Оценить чат можно после его завершения.", ALREADY_RATED: "Вы уже оценили этот чат. Спасибо!",
        SCORE_OUT_OF_RANGE: "Выберите одну из предложенных оценок.", CALLBACK_ALREADY_PENDING: "Вы уже заказали обратный звонок: мы вам перезвоним.",
        INVALID_CALLBACK_WINDOW: "Проверьте время, которое вы указали для звонка.", TOO_MANY_ATTACHMENTS: "Слишком много файлов в одном сообщении.",
        ILLEGAL_TRANSITION: "Сейчас это сделать нельзя.", INTERNAL: "У нас что-то пошло не так. Попробуйте снова.",
        DEFAULT: "Что-то пошло не так. Попробуйте снова."
      }
    },
    uk: {
      openChat: "Відкрити чат", closeChat: "Закрити чат", unreadLabel: "непрочитаних: {n}", title: "Напишіть нам",
      name: "Ім'я", email: "E-mail", phone: "Телефон", message: "Повідомлення", required: "обов'язково",
      optional: "необов'язково", start: "Почати чат", send: "Надіслати", attach: "Додати файл",
      writeHere: "Напишіть повідомлення…", joining: "Оператор підключається…", joiningNamed: "{name} підключається…",
      answering: "{name} відповідає", replyReceived: "Отримано відповідь", willCall: "Ми вам передзвонимо",
      ended: "Чат завершено", you: "Ви", operator: "Оператор", system: "Switchboard", bot: "Помічник",
      typing: "{name} друкує…", someone: "Оператор", read: "Прочитано", sending: "Надсилається…",
      notSent: "Не надіслано. Натисніть, щоб повторити.", callback: "Замовити зворотний дзвінок", callbackTitle: "Ми вам передзвонимо",
      callbackSend: "Передзвоніть мені", phoneHint: "З кодом країни, наприклад +380 44 123 45 67",
      phoneBad: "Це не схоже на номер телефону: вкажіть цифри з кодом країни, наприклад +380 44 123 45 67.",
      consentText: "Я погоджуюся, що мій номер телефону та ім'я буде використано, щоб передзвонити мені щодо цього звернення.",
      callbackDone: "Дякуємо! Ми передзвонимо вам за номером {phone}.", back: "Назад", telegram: "Продовжити в Telegram",
      telegramCommand: "Надішліть це нашому Telegram-боту: {command}", endChat: "Завершити чат", newChat: "Почати новий чат",
      rateCsat: "Як ми впоралися?", rateNps: "Наскільки ймовірно, що ви порекомендуєте нас другові?",
      rateComment: "Бажаєте щось додати? (необов'язково)", rateSend: "Надіслати оцінку", rated: "Дякуємо за оцінку!",
      csatOf: "{n} з 5", npsLow: "Малоймовірно", npsHigh: "Дуже ймовірно", offline: "Зараз нікого немає на зв'язку. Залиште повідомлення — ми відповімо, щойно зможемо.",
      outside: "Зараз неробочий час. Залиште повідомлення — ми відповімо, коли повернемося.",
      nextOpening: "Ми знову на зв'язку: {when}.", soundOn: "Звук увімкнено", soundOff: "Звук вимкнено", menu: "Ще",
      signInRequired: "Увійдіть на сайт, щоб написати нам.", greetingFallback: "Вітаємо! Чим можемо допомогти?",
      upload: "Завантажується {name}… {pct}%", download: "Завантажити {name}", fileTooBig: "Файл {name} завеликий: не більше {size}.",
      fileType: "Файл {name} не можна надіслати: у цей чат можна надсилати {types}.", expired: "Термін попереднього сеансу чату минув. Почніть новий чат.",
      retrying: "Забагато повідомлень одразу. Повторне надсилання через {s} с…", reconnecting: "Зв'язок втрачено. Перепідключаємося…",
      honeypot: "Сайт", close: "Закрити",
      errors: {
        NETWORK: "Не вдається зв'язатися з чатом. Перевірте з'єднання і спробуйте ще раз.",
        EMPTY_BODY: "Спершу напишіть повідомлення.", EMPTY_FIELD: "Заповніть поле: {field}.",
        MALFORMED_FIELD: "Перевірте поле «{field}»: схоже, у ньому помилка.", INVALID_WIDGET_TOKEN: "Чат на цьому сайті налаштовано неправильно.",
        CONSENT_REQUIRED: "Позначте згоду на зворотний дзвінок.", INBOX_INACTIVE: "Чат зараз вимкнено.",
        UNSUPPORTED_ATTACHMENT_TYPE: "Такий файл сюди надіслати не можна.", EMPTY_FILE: "Файл порожній.", ATTACHMENT_TOO_LARGE: "Файл завеликий для цього чату.",
        ATTACHMENT_NOT_FOUND: "Файл більше недоступний.", BODY_TOO_LONG: "Повідомлення задовге: скоротіть його.",
        FIELD_TOO_LONG: "Одне з полів задовге: скоротіть його.", INVALID_CHARACTER: "У тексті є символи, які не можна надіслати.",
        INVALID_ARGUMENT: "Запит не прийнято. Перевірте дані і спробуйте ще раз.",
        RATE_LIMITED: "Забагато запитів одразу. Зачекайте трохи і спробуйте ще раз.", SPAM_SUSPECTED: "Повідомлення схоже на автоматичне і не було надіслане.",
        MESSENGER_DISABLED: "Чат вимкнено.", ORIGIN_NOT_ALLOWED: "Цей чат не дозволено на цьому сайті.",
        CONTACT_ERASED: "Ваші дані видалено на ваш запит, тому цей чат не можна продовжити.", CONTACT_NOT_FOUND: "Ми не знайшли ваш чат.",
        IDENTITY_NOT_VERIFIED: "Не вдалося підтвердити ваш вхід. Увійдіть на сайт знову.",
        IDENTITY_REQUIRED: "Увійдіть на сайт, щоб написати нам.", IDENTITY_NOT_CONFIGURED: "Чат для користувачів, що увійшли, на цьому сайті ще не налаштовано.",
        TELEGRAM_DISABLED: "Telegram для цього чату недоступний.", TELEGRAM_UNAVAILABLE: "Telegram зараз недоступний. Спробуйте пізніше.",
        UNAVAILABLE: "Чат зараз перевантажений. Спробуйте за хвилину.", UNAUTHENTICATED: "Сеанс чату минув. Почніть новий чат.",
        FORBIDDEN: "У цьому чаті так не можна.", CONVERSATION_NOT_FOUND: "Ми не знайшли ваш чат.",
        CONVERSATION_CLOSED: "Цей чат закрито. Почніть новий, щоб написати знову.", RATING_DISABLED: "У цьому чаті немає оцінки.",
        RATING_TOO_EARLY: "Оцінити чат можна після його завершення.", ALREADY_RATED: "Ви вже оцінили цей чат. Дякуємо!",
        SCORE_OUT_OF_RANGE: "Оберіть одну із запропонованих оцінок.", CALLBACK_ALREADY_PENDING: "Ви вже замовили зворотний дзвінок: ми вам передзвонимо.",
        INVALID_CALLBACK_WINDOW: "Перевірте час, який ви вказали для дзвінка.", TOO_MANY_ATTACHMENTS: "Забагато файлів в одному повідомленні.",
        ILLEGAL_TRANSITION: "Зараз це зробити не можна.", INTERNAL: "У нас щось пішло не так. Спробуйте ще раз.",
        DEFAULT: "Щось пішло не так. Спробуйте ще раз."
      }
    }
  };

  function pickLocale(wanted) {
    var list = [wanted].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < list.length; i++) {
      var l = (list[i] || "").toLowerCase().slice(0, 2);
      if (TEXTS[l]) return l;
    }
    return "en";
  }

  // ---------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------
  var S = {
    locale: pickLocale(attr("data-locale")),
    settings: null,
    user: null,
    session: null, // {token, conversationId}
    conversation: null,
    messages: new Map(), // id -> message
    pending: new Map(), // clientMessageId -> {body, el, attachments}
    lastPosition: null,
    // The last position the thread's history or its subscription delivered: a reconnect
    // resumes after it. (Our own sends, answered over HTTP, must not move it: a reply
    // committed before them would be skipped.)
    livePosition: null,
    view: "closed",
    screen: "form", // form | thread | callback
    unread: 0,
    lastMarked: null,
    typingUntil: 0,
    live: null,
    operatorTyping: false,
    replied: false,
    sound: false,
    notice: null,
    // What the visitor is typing, kept when the panel is drawn again.
    draft: { composer: "", form: {} }
  };
  var listeners = {};

  function t(key, vars) {
    var texts = TEXTS[S.locale];
    var s = key.indexOf("errors.") === 0 ? texts.errors[key.slice(7)] : texts[key];
    if (s == null) s = TEXTS.en[key] || key;
    return s.replace(/\{(\w+)\}/g, function (_, k) { return vars && vars[k] != null ? vars[k] : ""; });
  }

  function emit(name, detail) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(detail); } catch (e) { console.error(LOG + "a '" + name + "' listener failed", e); }
    });
    try { window.dispatchEvent(new CustomEvent("switchboard:" + name, { detail: detail })); } catch (e) { /* old browsers */ }
  }

  // ---------------------------------------------------------------------------------------
  // The API: GraphQL over HTTP, uploads, and graphql-transport-ws for live data
  // ---------------------------------------------------------------------------------------
  function WidgetError(code, extensions) {
    this.code = code;
    this.extensions = extensions || {};
  }

  function sentence(err) {
    var code = err && err.code ? err.code : "DEFAULT";
    var ext = (err && err.extensions) || {};
    if (code === "EMPTY_FIELD" || code === "MALFORMED_FIELD") {
      var field = String(ext.field || ext.argument || "").toLowerCase();
      var label = field.indexOf("mail") >= 0 ? t("email") : field.indexOf("phone") >= 0 ? t("phone") : field.indexOf("name") >= 0 ? t("name") : field ? field : t("message");
      return t("errors." + code, { field: label });
    }
    if (code === "RATE_LIMITED" && ext.retryAfter) return t("retrying", { s: ext.retryAfter });
    var known = TEXTS[S.locale].errors[code];
    return known ? t("errors." + code) : t("errors.DEFAULT");
  }

  function gql(query, variables, token) {
    // Without a token the call is a CORS "simple request" (text/plain, which the service reads
    // as JSON): no preflight, one round trip less before the button shows. With one, the
    // Authorization header needs a preflight anyway (cached for an hour).
    var headers = { "content-type": token ? "application/json" : "text/plain;charset=UTF-8" };
    if (token) headers.authorization = "Bearer " + token;
    return fetch(API + "/graphql", { method: "POST", headers: headers, body: JSON.stringify({ query: query, variables: variables || {} }) })
      .catch(function () { throw new WidgetError("NETWORK"); })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (res.status === 404 && body && body.detail === "Messenger disabled") throw new WidgetError("MESSENGER_DISABLED");
          if (!body) throw new WidgetError(res.status >= 500 ? "UNAVAILABLE" : "DEFAULT");
          if (body.errors && body.errors.length) {
            var e = body.errors[0];
            var ext = e.extensions || {};
            throw new WidgetError(ext.code || "INTERNAL", ext);
          }
          return body.data;
        });
      });
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // Retries what the service asked to retry later (RATE_LIMITED, UNAVAILABLE) after the
  // time it named, and a lost network a few times. Only idempotent calls come here (an
  // idempotency key, or a read); `refusedOnly` retries just RATE_LIMITED, which is answered
  // before anything is done, for the calls that have no key.
  function retrying(call, onWait, refusedOnly) {
    var attempt = 0;
    function go() {
      return call().catch(function (err) {
        attempt++;
        var later = err.code === "RATE_LIMITED" || (!refusedOnly && (err.code === "UNAVAILABLE" || err.code === "NETWORK"));
        if (!later || attempt > 4) throw err;
        var secs = err.extensions.retryAfter || Math.min(8, attempt * 2);
        if (onWait) onWait(err, secs);
        return sleep(secs * 1000).then(go);
      });
    }
    return go();
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /** graphql-transport-ws, with reconnects (backoff with jitter) and re-subscription. */
  function Live(getToken, onUp, onDown) {
    this.getToken = getToken;
    this.onUp = onUp;
    this.onDown = onDown;
    this.subs = {};
    this.ws = null;
    this.ready = false;
    this.failures = 0;
    this.stopped = false;
    this.watch();
    this.connect();
  }
  Live.prototype.connect = function () {
    var self = this;
    if (self.stopped) return;
    var ws;
    try { ws = new WebSocket(WS_URL, "graphql-transport-ws"); } catch (e) { self.retry(); return; }
    self.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer " + self.getToken() } }));
    };
    ws.onmessage = function (ev) {
      self.heardAt = Date.now();
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "connection_ack") {
        self.ready = true;
        self.failures = 0;
        Object.keys(self.subs).forEach(function (id) { self.send(id); });
        if (self.onUp) self.onUp();
      } else if (msg.type === "ping") {
        ws.send(JSON.stringify({ type: "pong" }));
      } else if (msg.type === "next" && self.subs[msg.id]) {
        if (msg.payload && msg.payload.data) self.subs[msg.id].next(msg.payload.data);
      } else if (msg.type === "error" && self.subs[msg.id]) {
        console.warn(LOG + "subscription refused", msg.payload);
      }
    };
    ws.onclose = function (ev) {
      var was = self.ready;
      self.ready = false;
      self.ws = null;
      if (self.stopped) return;
      // 4401: the session is no longer valid; 4403: not allowed here. Reconnecting cannot help.
      if (ev.code === 4401 || ev.code === 4403) { self.stopped = true; if (self.onDown) self.onDown(ev.code); return; }
      if (was && self.onDown) self.onDown(ev.code);
      self.retry();
    };
  };
  // The server pings every 15 s: a socket silent for much longer is dead even if it looks open
  // (a laptop that slept, a network that changed).
  Live.prototype.watch = function () {
    var self = this;
    self.watchdog = setInterval(function () {
      if (self.stopped) { clearInterval(self.watchdog); return; }
      if (self.ws && self.ready && Date.now() - (self.heardAt || 0) > 50000) self.drop();
    }, 10000);
    self.wake = function () { if (!self.stopped && !self.ws) { clearTimeout(self.timer); self.failures = 0; self.connect(); } };
    window.addEventListener("online", self.wake);
  };
  // Gives up on a socket now (a dead one's close handshake could take a minute) and reconnects.
  Live.prototype.drop = function () {
    var dead = this.ws;
    if (!dead) return;
    dead.onclose = dead.onmessage = dead.onopen = null;
    try { dead.close(); } catch (e) { /* gone */ }
    this.ws = null;
    this.ready = false;
    if (this.onDown) this.onDown(1006);
    this.retry();
  };
  Live.prototype.retry = function () {
    var self = this;
    self.failures++;
    var delay = Math.min(15000, 400 * Math.pow(2, self.failures - 1)) * (0.75 + Math.random() / 2);
    self.timer = setTimeout(function () { self.connect(); }, delay);
  };
  Live.prototype.send = function (id) {
    var sub = this.subs[id];
    if (!this.ready || !this.ws) return;
    this.ws.send(JSON.stringify({ id: id, type: "subscribe", payload: { query: sub.query, variables: sub.variables() } }));
  };
  Live.prototype.subscribe = function (id, query, variables, next) {
    this.subs[id] = { query: query, variables: variables, next: next };
    this.send(id);
  };
  Live.prototype.stop = function () {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.timer);
    window.removeEventListener("online", this.wake);
    if (this.ws) try { this.ws.close(1000); } catch (e) { /* closed */ }
  };

  var MESSAGE_FIELDS = "id position body postedAt readAt autoReply sender { kind } attachments { id name contentType size url }";
  var CONVERSATION_FIELDS = "id status assigneeName unreadCount rating { score } lastMessage { senderKind }";

  // ---------------------------------------------------------------------------------------
  // Sessions, kept per inbox (and per signed-in user) in the browser
  // ---------------------------------------------------------------------------------------
  function storageKey() {
    return "switchboard:" + S.settings.inboxId + (S.user ? ":user:" + S.user.id : "");
  }
  function loadSession() {
    try { return JSON.parse(localStorage.getItem(storageKey()) || "null"); } catch (e) { return null; }
  }
  function saveSession(session) {
    S.session = session;
    try {
      if (session) localStorage.setItem(storageKey(), JSON.stringify(session));
      else localStorage.removeItem(storageKey());
    } catch (e) { /* storage off: the session lasts as long as the page */ }
  }

  // ---------------------------------------------------------------------------------------
  // The view, in a Shadow DOM
  // ---------------------------------------------------------------------------------------
  var CSS = [
    ":host{all:initial!important;display:block!important;position:static!important;visibility:visible!important;opacity:1!important;transform:none!important;filter:none!important}",
    ".root{all:initial;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Ubuntu,sans-serif;color:#1d2330;-webkit-font-smoothing:antialiased}",
    ".root *,.root *::before,.root *::after{box-sizing:border-box}",
    "button,input,textarea{font:inherit;color:inherit;margin:0}",
    "button{cursor:pointer}",
    ":focus-visible{outline:2px solid var(--accent);outline-offset:2px}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--accent);color:var(--on-accent);box-shadow:0 4px 16px rgba(0,0,0,.25);z-index:2147483646;display:flex;align-items:center;justify-content:center;padding:0}",
    ".launcher svg{width:28px;height:28px;fill:currentColor}",
    ".bubble{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#d92d20;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}",
    ".panel{position:fixed;right:20px;bottom:88px;width:380px;height:min(620px,calc(100vh - 108px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);z-index:2147483647;display:flex;flex-direction:column;overflow:hidden}",
    ".panel[hidden],.launcher[hidden],[hidden]{display:none!important}",
    ".full .panel{inset:0;width:100%;height:100%;border-radius:0;box-shadow:none}.full .launcher,.full .closer{display:none!important}",
    "@media (max-width:520px){.panel{inset:0;width:100%;height:100%;border-radius:0}.launcher{right:14px;bottom:14px}}",
    "header{background:var(--accent);color:var(--on-accent);padding:14px 12px 12px 16px;display:flex;align-items:flex-start;gap:8px}",
    "header .titles{flex:1;min-width:0}",
    "h2{font-size:16px;font-weight:650;margin:0;line-height:1.3}",
    ".status{font-size:12.5px;opacity:.9;margin-top:2px;min-height:18px}",
    ".icon{background:transparent;border:0;color:inherit;width:32px;height:32px;border-radius:8px;display:flex;align-items:center;justify-content:center;padding:0}",
    ".icon:hover{background:rgba(255,255,255,.18)}",
    ".icon svg{width:20px;height:20px;fill:currentColor}",
    ".menu{position:absolute;right:12px;top:52px;background:#fff;color:#1d2330;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.2);padding:6px;display:flex;flex-direction:column;min-width:220px;z-index:3}",
    ".menu button{background:none;border:0;text-align:left;padding:9px 10px;border-radius:6px}",
    ".menu button:hover{background:#f0f2f5}",
    ".banner{padding:9px 16px;font-size:13px;background:#fff7e0;color:#5c4400;border-bottom:1px solid #f0e0b0}",
    ".notice{padding:9px 16px;font-size:13px;background:#fdecea;color:#8a1c12;border-bottom:1px solid #f5c6c0}",
    ".body{flex:1;overflow-y:auto;padding:14px 14px 6px;background:#f6f7f9;position:relative}",
    ".greeting{background:#fff;border-radius:12px;padding:10px 12px;margin-bottom:12px;box-shadow:0 1px 2px rgba(0,0,0,.06)}",
    "form.stack{display:flex;flex-direction:column;gap:10px}",
    "label{display:flex;flex-direction:column;gap:4px;font-size:13px;font-weight:550}",
    "label small{font-weight:400;color:#667085}",
    "input[type=text],input[type=email],input[type=tel],textarea{border:1px solid #c9ced6;border-radius:8px;padding:9px 10px;background:#fff;font-weight:400;width:100%}",
    "input[aria-invalid=true]{border-color:#d92d20}",
    "textarea{resize:none}",
    ".hint{font-size:12px;color:#667085;font-weight:400}",
    ".hint.bad{color:#b42318}",
    ".check{flex-direction:row;align-items:flex-start;gap:8px;font-weight:400}",
    ".check input{margin-top:3px}",
    ".primary{background:var(--accent);color:var(--on-accent);border:0;border-radius:8px;padding:10px 14px;font-weight:600}",
    ".primary:disabled{opacity:.55;cursor:default}",
    ".link{background:none;border:0;color:var(--accent-text);padding:4px 0;text-decoration:underline;text-align:left}",
    ".hp{position:absolute!important;left:-10000px!important;width:1px;height:1px;overflow:hidden}",
    ".msgs{display:flex;flex-direction:column;gap:8px}",
    ".msg{max-width:82%;padding:8px 11px;border-radius:14px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.06);white-space:pre-wrap;overflow-wrap:anywhere;align-self:flex-start}",
    ".msg.mine{align-self:flex-end;background:var(--accent);color:var(--on-accent)}",
    ".msg.system{align-self:center;background:transparent;box-shadow:none;color:#667085;font-size:12.5px;text-align:center}",
    ".msg .who{font-size:11.5px;font-weight:650;opacity:.75;margin-bottom:2px}",
    ".msg .meta{font-size:11px;opacity:.7;margin-top:3px;text-align:right}",
    ".msg.failed{opacity:.8;outline:2px solid #d92d20;cursor:pointer}",
    ".msg img{display:block;max-width:100%;max-height:220px;border-radius:8px;margin-top:6px}",
    ".file{display:inline-block;margin-top:6px;color:inherit;text-decoration:underline;background:none;border:0;padding:0;text-align:left}",
    ".typing{font-size:12.5px;color:#667085;padding:4px 16px;min-height:22px;background:#f6f7f9}",
    ".composer{display:flex;gap:6px;align-items:flex-end;padding:10px;border-top:1px solid #e4e7ec;background:#fff}",
    ".composer textarea{flex:1;max-height:120px;min-height:40px}",
    ".composer .icon{color:#475467;width:40px;height:40px}",
    ".composer .icon:hover{background:#f0f2f5}",
    ".send{width:40px;height:40px;border-radius:8px;border:0;background:var(--accent);color:var(--on-accent);display:flex;align-items:center;justify-content:center;padding:0}",
    ".send svg{width:20px;height:20px;fill:currentColor}",
    ".progress{height:4px;background:#e4e7ec;border-radius:2px;overflow:hidden;margin:4px 16px}",
    ".progress i{display:block;height:100%;background:var(--accent);width:0}",
    ".uploading{font-size:12px;color:#475467;padding:6px 16px 0}",
    ".rating{background:#fff;border-radius:12px;padding:12px;margin-top:12px;display:flex;flex-direction:column;gap:10px;box-shadow:0 1px 2px rgba(0,0,0,.06)}",
    ".scores{display:flex;gap:4px;flex-wrap:wrap}",
    ".scores button{flex:1;min-width:28px;padding:7px 0;border:1px solid #c9ced6;border-radius:7px;background:#fff}",
    ".scores button[aria-pressed=true]{background:var(--accent);color:var(--on-accent);border-color:var(--accent)}",
    ".ends{display:flex;justify-content:space-between;font-size:11.5px;color:#667085}",
    ".done{background:#ecfdf3;color:#05603a;border-radius:10px;padding:10px 12px;margin-top:10px}",
    ".center{display:flex;flex-direction:column;gap:10px;margin-top:12px}"
  ].join("\n");

  var ICON_CHAT = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2zm3 6v2h10V9H7zm0-4v2h10V5H7zm0 8v2h7v-2H7z"/></svg>';
  var ICON_CLOSE = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4L12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z"/></svg>';
  var ICON_MORE = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 8a2 2 0 1 1 0-4 2 2 0 0 1 0 4zm0 6a2 2 0 1 1 0-4 2 2 0 0 1 0 4zm0 6a2 2 0 1 1 0-4 2 2 0 0 1 0 4z"/></svg>';
  var ICON_CLIP = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6v11.5a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6H9v9.5a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v12.5a6 6 0 0 0 12 0V6h-1.5z"/></svg>';
  var ICON_SEND = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z"/></svg>';

  var host, root, el = {};

  function h(tag, props, children) {
    var node = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v == null || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "html") node.innerHTML = v; // only our own constant icons
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function accentColors(color) {
    var c = /^#[0-9a-f]{6}$/i.test(color || "") ? color : "#2563eb";
    var n = parseInt(c.slice(1), 16);
    var lum = (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
    return { accent: c, on: lum > 0.6 ? "#111" : "#fff", text: lum > 0.6 ? "#1d2330" : c };
  }

  function mount() {
    host = document.createElement("switchboard-widget");
    var shadow = host.attachShadow({ mode: "open" });
    var colors = accentColors(S.settings.color);
    shadow.appendChild(h("style", { text: CSS }));
    root = h("div", { "class": FULLPAGE ? "root full" : "root", style: "--accent:" + colors.accent + ";--on-accent:" + colors.on + ";--accent-text:" + colors.text });
    root.setAttribute("lang", S.locale);
    shadow.appendChild(root);
    el.launcher = h("button", { "class": "launcher", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false", onclick: toggle, html: ICON_CHAT });
    el.bubble = h("span", { "class": "bubble", hidden: true, "aria-hidden": "true" });
    el.launcher.appendChild(el.bubble);
    el.panel = h("div", { "class": "panel", role: "dialog", "aria-modal": "true", "aria-labelledby": "sb-title", hidden: true, onkeydown: onPanelKey });
    root.appendChild(el.panel);
    root.appendChild(el.launcher);
    (document.body || document.documentElement).appendChild(host);
    render();
    showUnread();
    try { performance.mark("switchboard:button"); } catch (e) { /* no User Timing */ }
  }

  function onPanelKey(ev) {
    if (ev.key === "Escape") { ev.stopPropagation(); if (el.menu && !el.menu.hidden) { el.menu.hidden = true; el.more.focus(); } else close(); return; }
    if (ev.key !== "Tab") return;
    var focusable = Array.prototype.filter.call(
      el.panel.querySelectorAll("button,input,textarea,a[href],[tabindex]"),
      function (n) { return !n.disabled && n.tabIndex >= 0 && n.getClientRects().length && !n.closest(".hp"); });
    if (!focusable.length) return;
    var first = focusable[0], last = focusable[focusable.length - 1];
    var active = host.shadowRoot.activeElement;
    if (ev.shiftKey && (active === first || !el.panel.contains(active))) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && active === last) { ev.preventDefault(); first.focus(); }
  }

  function statusLine() {
    var c = S.conversation;
    if (!S.session) return "";
    if (!c) return t("joining");
    if (c.status === "RESOLVED" || c.status === "CLOSED") return t("ended");
    if (c.status === "PENDING_CALLBACK") return t("willCall");
    var last = c.lastMessage && c.lastMessage.senderKind;
    if (last === "OPERATOR" || last === "BOT") return t("replyReceived");
    if (c.assigneeName) return S.replied ? t("answering", { name: c.assigneeName }) : t("joiningNamed", { name: c.assigneeName });
    return t("joining");
  }

  function availabilityBanner() {
    var a = S.settings.availability;
    if (!a || a.state === "ONLINE") return null;
    var text = a.message || (a.state === "OFFLINE" ? t("offline") : t("outside"));
    if (a.state === "OUTSIDE_WORKING_HOURS" && a.nextOpening) {
      var when = new Date(a.nextOpening);
      text += " " + t("nextOpening", { when: when.toLocaleString(S.locale, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" }) });
    }
    return h("div", { "class": "banner", role: "status" , "data-state": a.state, text: text });
  }

  function keepDrafts() {
    if (el.input && el.input.isConnected) S.draft.composer = el.input.value;
    if (el.panel) Array.prototype.forEach.call(el.panel.querySelectorAll("form input[name],form textarea[name]"), function (n) {
      if (n.type !== "checkbox" && n.type !== "file" && n.name !== "website") S.draft.form[n.name] = n.value;
    });
  }

  function restoreDrafts() {
    if (el.input && el.input.isConnected && S.draft.composer) el.input.value = S.draft.composer;
    Array.prototype.forEach.call(el.panel.querySelectorAll("form input[name],form textarea[name]"), function (n) {
      if (S.draft.form[n.name] && !n.value) n.value = S.draft.form[n.name];
    });
  }

  function render() {
    var p = el.panel;
    keepDrafts();
    p.textContent = "";
    el.launcher.setAttribute("aria-label", S.unread ? t("openChat") + " (" + t("unreadLabel", { n: S.unread }) + ")" : t("openChat"));
    var header = h("header", null, [
      h("div", { "class": "titles" }, [
        h("h2", { id: "sb-title", text: S.settings.title || t("title") }),
        el.status = h("div", { "class": "status", role: "status", "aria-live": "polite", text: statusLine() })
      ]),
      el.more = S.session ? h("button", { "class": "icon", type: "button", "aria-label": t("menu"), "aria-haspopup": "menu", "aria-expanded": "false", onclick: toggleMenu, html: ICON_MORE }) : null,
      h("button", { "class": "icon closer", type: "button", "aria-label": t("closeChat"), onclick: close, html: ICON_CLOSE })
    ]);
    p.appendChild(header);
    el.menu = h("div", { "class": "menu", role: "menu", hidden: true });
    p.appendChild(el.menu);
    el.banner = h("div");
    var banner = availabilityBanner();
    if (banner) el.banner.appendChild(banner);
    p.appendChild(el.banner);
    el.notice = h("div", { "class": "notice", role: "alert", hidden: !S.notice, text: S.notice || "" });
    p.appendChild(el.notice);
    if (S.settings.visitorIdentity === "REQUIRED" && !S.user && !S.session) {
      p.appendChild(h("div", { "class": "body" }, [h("div", { "class": "greeting", text: t("signInRequired") })]));
      return;
    }
    if (S.screen === "callback") renderCallback(p);
    else if (!S.session || S.screen === "form") renderForm(p);
    else renderThread(p);
    restoreDrafts();
  }

  function notify(text) {
    S.notice = text || null;
    if (el.notice) { el.notice.textContent = text || ""; el.notice.hidden = !text; }
  }

  function field(name, type, required, value, extra) {
    var input = h("input", Object.assign({ type: type, name: name, autocomplete: name === "name" ? "name" : name === "email" ? "email" : "tel", required: required || null, "aria-required": required ? "true" : null, value: value || null }, extra || {}));
    return { label: h("label", null, [h("span", null, [t(name) + " ", h("small", { text: "(" + t(required ? "required" : "optional") + ")" })]), input]), input: input };
  }

  function renderForm(p) {
    var req = S.settings.requiredFields || [];
    var u = S.user || {};
    var name = field("name", "text", req.indexOf("NAME") >= 0, u.name);
    var email = field("email", "email", req.indexOf("EMAIL") >= 0, u.email);
    var phone = field("phone", "tel", req.indexOf("PHONE") >= 0, u.phone);
    var message = h("textarea", { name: "message", rows: "3", placeholder: t("writeHere") });
    var honeypot = h("input", { type: "text", name: "website", tabindex: "-1", autocomplete: "off" });
    var submit = h("button", { "class": "primary", type: "submit", text: t("start") });
    var form = h("form", { "class": "stack", novalidate: true, onsubmit: function (ev) {
      ev.preventDefault();
      submit.disabled = true;
      notify(null);
      startConversation({ name: name.input.value, email: email.input.value, phone: phone.input.value, message: message.value, website: honeypot.value })
        .catch(function (err) { notify(sentence(err)); markInvalid(err, { name: name.input, email: email.input, phone: phone.input }); })
        .then(function () { submit.disabled = false; });
    } }, [
      name.label, email.label, phone.label,
      h("label", null, [h("span", { text: t("message") }), message]),
      h("label", { "class": "hp", "aria-hidden": "true" }, [t("honeypot"), honeypot]),
      submit,
      h("button", { "class": "link", type: "button", text: t("callback"), onclick: function () { S.screen = "callback"; render(); } })
    ]);
    p.appendChild(h("div", { "class": "body" }, [h("div", { "class": "greeting", text: S.settings.greeting || t("greetingFallback") }), form]));
  }

  function markInvalid(err, inputs) {
    var f = String((err.extensions && (err.extensions.field || err.extensions.argument)) || "").toLowerCase();
    Object.keys(inputs).forEach(function (k) {
      var bad = f && f.indexOf(k) >= 0;
      inputs[k].setAttribute("aria-invalid", bad ? "true" : "false");
      if (bad) inputs[k].focus();
    });
  }

  // A phone number as people type it: digits with an optional +, spaces, dashes, dots and
  // brackets; 7 to 15 digits (E.164). The service checks it again and stores it as E.164.
  function phoneLooksRight(value) {
    var v = value.trim();
    if (!/^\+?[\d\s().-]+$/.test(v)) return false;
    var digits = v.replace(/\D/g, "").length;
    return digits >= 7 && digits <= 15;
  }

  function consentVersion() { return "switchboard-widget-callback-1/" + S.locale; }

  function renderCallback(p) {
    var u = S.user || {};
    var name = field("name", "text", false, u.name);
    var phone = field("phone", "tel", true, u.phone, { "aria-describedby": "sb-phone-hint" });
    var hint = h("span", { "class": "hint", id: "sb-phone-hint", text: t("phoneHint") });
    phone.label.appendChild(hint);
    var consent = h("input", { type: "checkbox", name: "consent" });
    var honeypot = h("input", { type: "text", name: "website", tabindex: "-1", autocomplete: "off" });
    var submit = h("button", { "class": "primary", type: "submit", text: t("callbackSend"), disabled: true });
    function check() {
      var v = phone.input.value;
      var ok = phoneLooksRight(v);
      phone.input.setAttribute("aria-invalid", v && !ok ? "true" : "false");
      hint.textContent = v && !ok ? t("phoneBad") : t("phoneHint");
      hint.className = v && !ok ? "hint bad" : "hint";
      submit.disabled = !(ok && consent.checked);
    }
    phone.input.addEventListener("input", check);
    consent.addEventListener("change", check);
    var body = h("div", { "class": "body" });
    var form = h("form", { "class": "stack", novalidate: true, onsubmit: function (ev) {
      ev.preventDefault();
      submit.disabled = true;
      notify(null);
      requestCallback({ phone: phone.input.value, name: name.input.value || null, website: honeypot.value })
        .then(function (shown) {
          body.textContent = "";
          body.appendChild(h("div", { "class": "done", role: "status", text: t("callbackDone", { phone: shown }) }));
          body.appendChild(h("button", { "class": "link", type: "button", text: t("back"), onclick: function () { S.screen = S.session ? "thread" : "form"; render(); } }));
        })
        .catch(function (err) { notify(sentence(err)); check(); });
    } }, [
      h("div", { "class": "greeting", text: t("callbackTitle") }),
      name.label, phone.label,
      h("label", { "class": "check" }, [consent, h("span", { "data-consent-version": consentVersion(), text: t("consentText") })]),
      h("label", { "class": "hp", "aria-hidden": "true" }, [t("honeypot"), honeypot]),
      submit,
      h("button", { "class": "link", type: "button", text: t("back"), onclick: function () { S.screen = S.session ? "thread" : "form"; render(); } })
    ]);
    body.appendChild(form);
    p.appendChild(body);
  }

  function renderThread(p) {
    el.body = h("div", { "class": "body" });
    el.msgs = h("div", { "class": "msgs", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
    el.body.appendChild(h("div", { "class": "greeting", text: S.settings.greeting || t("greetingFallback") }));
    el.body.appendChild(el.msgs);
    el.after = h("div");
    el.body.appendChild(el.after);
    p.appendChild(el.body);
    el.typing = h("div", { "class": "typing", "aria-live": "polite" });
    p.appendChild(el.typing);
    el.uploads = h("div");
    p.appendChild(el.uploads);
    var sorted = Array.from(S.messages.values()).sort(function (a, b) { return a.position - b.position; });
    sorted.forEach(function (m) { el.msgs.appendChild(messageNode(m)); });
    S.pending.forEach(function (entry) { entry.el = pendingNode(entry); el.msgs.appendChild(entry.el); });
    renderEnd();
    var ended = isEnded();
    el.input = h("textarea", { rows: "1", "aria-label": t("message"), placeholder: t("writeHere"), maxlength: String(S.settings.maxMessageChars || 4000), oninput: onTyping, onkeydown: function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendFromComposer(); }
    } });
    el.file = h("input", { type: "file", hidden: true, accept: acceptList(), onchange: function () { var f = el.file.files[0]; el.file.value = ""; if (f) sendFile(f); } });
    var composer = h("div", { "class": "composer", hidden: ended }, [
      h("button", { "class": "icon", type: "button", "aria-label": t("attach"), title: t("attach"), hidden: !(S.settings.attachmentTypes || []).length, onclick: function () { el.file.click(); }, html: ICON_CLIP }),
      el.file, el.input,
      h("button", { "class": "send", type: "button", "aria-label": t("send"), title: t("send"), onclick: sendFromComposer, html: ICON_SEND })
    ]);
    p.appendChild(composer);
    scrollDown();
  }

  function isEnded() { var c = S.conversation; return !!c && (c.status === "RESOLVED" || c.status === "CLOSED"); }

  function renderEnd() {
    if (!el.after) return;
    el.after.textContent = "";
    if (!isEnded()) return;
    var c = S.conversation;
    var scale = S.settings.rating;
    if (scale !== "NONE" && !c.rating) el.after.appendChild(ratingForm(scale));
    else if (c.rating) el.after.appendChild(h("div", { "class": "done", text: t("rated") }));
    if (WIDGET_TOKEN) el.after.appendChild(h("div", { "class": "center" }, [h("button", { "class": "primary", type: "button", text: t("newChat"), onclick: function () { S.screen = "form"; render(); } })]));
  }

  function ratingForm(scale) {
    var score = null;
    var max = scale === "NPS" ? 10 : 5, min = scale === "NPS" ? 0 : 1;
    var buttons = [];
    var comment = h("textarea", { rows: "2", "aria-label": t("rateComment"), placeholder: t("rateComment") });
    var submit = h("button", { "class": "primary", type: "button", text: t("rateSend"), disabled: true });
    var scores = h("div", { "class": "scores", role: "group", "aria-label": scale === "NPS" ? t("rateNps") : t("rateCsat") });
    for (var i = min; i <= max; i++) (function (n) {
      var b = h("button", { type: "button", "aria-pressed": "false", "aria-label": scale === "NPS" ? String(n) : t("csatOf", { n: n }), text: scale === "NPS" ? String(n) : "★".repeat(n), onclick: function () {
        score = n;
        buttons.forEach(function (x) { x.setAttribute("aria-pressed", x === b ? "true" : "false"); });
        submit.disabled = false;
      } });
      buttons.push(b);
      scores.appendChild(b);
    })(i);
    var box = h("div", { "class": "rating" }, [
      h("div", { text: scale === "NPS" ? t("rateNps") : t("rateCsat") }), scores,
      scale === "NPS" ? h("div", { "class": "ends" }, [h("span", { text: t("npsLow") }), h("span", { text: t("npsHigh") })]) : null,
      comment, submit
    ]);
    submit.addEventListener("click", function () {
      submit.disabled = true;
      notify(null);
      retrying(function () {
        return gql("mutation($input: RateConversationInput!) { rateConversation(input: $input) { score } }",
          { input: { conversationId: S.session.conversationId, score: score, comment: comment.value.trim() || null } }, S.session.token);
      }).then(function () {
        S.conversation.rating = { score: score };
        renderEnd();
      }).catch(function (err) {
        if (err.code === "ALREADY_RATED") { S.conversation.rating = { score: score }; renderEnd(); }
        notify(sentence(err));
        submit.disabled = false;
      });
    });
    return box;
  }

  function acceptList() {
    var map = { JPEG: "image/jpeg,.jpg,.jpeg", PNG: "image/png,.png", GIF: "image/gif,.gif", WEBP: "image/webp,.webp", PDF: "application/pdf,.pdf" };
    return (S.settings.attachmentTypes || []).map(function (x) { return map[x]; }).filter(Boolean).join(",");
  }

  function senderLabel(m) {
    var kind = m.sender && m.sender.kind;
    if (kind === "CONTACT") return t("you");
    if (kind === "SYSTEM") return t("system");
    if (kind === "BOT") return t("bot");
    return (S.conversation && S.conversation.assigneeName) || t("operator");
  }

  function timeOf(iso) {
    try { return new Date(iso).toLocaleTimeString(S.locale, { hour: "2-digit", minute: "2-digit" }); } catch (e) { return ""; }
  }

  function messageNode(m) {
    var kind = m.sender && m.sender.kind;
    var mine = kind === "CONTACT";
    var node = h("div", { "class": "msg" + (mine ? " mine" : kind === "SYSTEM" ? " system" : ""), "data-id": m.id, "data-position": String(m.position) });
    if (!mine && kind !== "SYSTEM") node.appendChild(h("div", { "class": "who", text: senderLabel(m) }));
    if (m.body) node.appendChild(h("div", { "class": "text", text: m.body }));
    (m.attachments || []).forEach(function (a) { node.appendChild(attachmentNode(a)); });
    var meta = timeOf(m.postedAt) + (mine && m.readAt ? " · " + t("read") : "");
    node.appendChild(h("div", { "class": "meta", text: meta }));
    return node;
  }

  function attachmentNode(a) {
    var url = API + a.url;
    if (/^image\//.test(a.contentType)) {
      var img = h("img", { alt: a.name });
      blobOf(url).then(function (u) { img.src = u; }).catch(function () { img.alt = a.name + " — " + t("errors.ATTACHMENT_NOT_FOUND"); });
      return img;
    }
    return h("button", { "class": "file", type: "button", text: t("download", { name: a.name }) + " (" + formatSize(a.size) + ")", onclick: function () {
      blobOf(url).then(function (u) {
        var link = h("a", { href: u, download: a.name });
        root.appendChild(link); link.click(); link.remove();
      }).catch(function (err) { notify(sentence(err)); });
    } });
  }

  var blobs = {};
  function blobOf(url) {
    if (!blobs[url]) blobs[url] = fetch(url, { headers: { authorization: "Bearer " + S.session.token } })
      .catch(function () { throw new WidgetError("NETWORK"); })
      .then(function (res) {
        if (!res.ok) return res.json().catch(function () { return {}; }).then(function (b) { delete blobs[url]; throw new WidgetError(b.code || "ATTACHMENT_NOT_FOUND", b); });
        return res.blob().then(function (b) { return URL.createObjectURL(b); });
      });
    return blobs[url];
  }

  function formatSize(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(bytes % 1048576 ? 1 : 0) + " MB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
    return bytes + " B";
  }

  function pendingNode(entry) {
    var node = h("div", { "class": "msg mine" + (entry.failed ? " failed" : ""), "data-pending": entry.id, tabindex: entry.failed ? "0" : null, role: entry.failed ? "button" : null,
      onclick: function () { if (entry.failed) resend(entry); },
      onkeydown: function (ev) { if (entry.failed && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); resend(entry); } } }, [
      h("div", { "class": "text", text: entry.body }),
      h("div", { "class": "meta", text: entry.failed ? t("notSent") : t("sending") })
    ]);
    return node;
  }

  function scrollDown() { if (el.body) el.body.scrollTop = el.body.scrollHeight; }

  // ---------------------------------------------------------------------------------------
  // What the visitor does
  // ---------------------------------------------------------------------------------------
  var startedRequest = null;
  function startConversation(form) {
    var input = {
      widgetToken: WIDGET_TOKEN,
      clientRequestId: startedRequest || (startedRequest = uuid()),
      name: clean(form.name), email: clean(form.email), phone: clean(form.phone),
      message: clean(form.message), website: form.website || null
    };
    if (S.user && S.user.identityHash) input.user = { id: S.user.id, identityHash: S.user.identityHash };
    // An anonymous visitor's next chat is the same contact's: the old session says who.
    var previous = S.session && S.session.token;
    return retrying(function () {
      return gql("mutation($input: StartConversationInput!) { startConversation(input: $input) { conversationId sessionToken message { " + MESSAGE_FIELDS + " } } }", { input: input }, previous);
    }, waitNotice).then(function (data) {
      startedRequest = null;
      var started = data.startConversation;
      resetThread();
      saveSession({ token: started.sessionToken, conversationId: started.conversationId });
      if (started.message) { addMessage(started.message); S.livePosition = started.message.position; }
      S.screen = "thread";
      render();
      S.draft.form = {};
      connectLive();
      refreshConversation();
      focusComposer();
    });
  }

  function clean(v) { v = (v || "").trim(); return v ? v : null; }

  function waitNotice(err, secs) { if (err.code === "RATE_LIMITED") notify(t("retrying", { s: secs })); }

  function resetThread() {
    if (S.live) S.live.stop();
    S.live = null;
    S.messages = new Map();
    S.pending = new Map();
    S.lastPosition = null;
    S.livePosition = null;
    S.lastMarked = null;
    Object.keys(blobs).forEach(function (url) { blobs[url].then(function (u) { URL.revokeObjectURL(u); }, function () {}); });
    blobs = {};
    S.conversation = null;
    S.replied = false;
    setUnread(0);
  }

  function requestCallback(form) {
    var input = { phone: form.phone, name: form.name, consent: { textVersion: consentVersion(), accepted: true }, website: form.website || null };
    var guest = !S.session || isEnded();
    if (guest) input.widgetToken = WIDGET_TOKEN;
    else input.conversationId = S.session.conversationId;
    return retrying(function () {
      return gql("mutation($input: RequestCallbackInput!) { requestCallback(input: $input) { conversationId sessionToken } }", { input: input }, guest ? null : S.session.token);
    }, waitNotice, true).then(function (data) {
      var r = data.requestCallback;
      if (r.sessionToken) {
        resetThread();
        saveSession({ token: r.sessionToken, conversationId: r.conversationId });
        connectLive();
      }
      refreshConversation();
      return form.phone.trim();
    });
  }

  function sendFromComposer() {
    var body = el.input.value.trim();
    if (!body) return;
    el.input.value = "";
    S.draft.composer = "";
    stopTyping();
    send({ id: uuid(), body: body, attachmentIds: [] });
  }

  // Messages go out one after another, in the order written, whatever retries they need.
  var sending = Promise.resolve();
  function send(entry) {
    entry.session = entry.session || S.session;
    S.pending.set(entry.id, entry);
    entry.failed = false;
    var node = pendingNode(entry);
    if (entry.el && entry.el.parentNode) entry.el.replaceWith(node); else if (el.msgs) el.msgs.appendChild(node);
    entry.el = node;
    scrollDown();
    var settled = sending.then(function () { return transmit(entry); });
    sending = settled.catch(function () { /* the next one goes anyway */ });
    return settled;
  }

  function transmit(entry) {
    var session = entry.session;
    return retrying(function () {
      if (S.session !== session) return Promise.reject(new WidgetError("CONVERSATION_CLOSED"));
      return gql("mutation($input: SendMessageInput!) { sendMessage(input: $input) { " + MESSAGE_FIELDS + " } }",
        { input: { conversationId: session.conversationId, body: entry.body, clientMessageId: entry.id, attachmentIds: entry.attachmentIds } }, session.token);
    }, waitNotice).then(function (data) {
      if (S.session !== session) return;
      notify(null);
      settlePending(entry.id);
      addMessage(data.sendMessage);
    }).catch(function (err) {
      if (S.session !== session) return;
      entry.failed = true;
      var failed = pendingNode(entry);
      if (entry.el && entry.el.parentNode) entry.el.replaceWith(failed);
      entry.el = failed;
      notify(sentence(err));
      if (err.code === "UNAUTHENTICATED") {
        var unsent = [];
        S.pending.forEach(function (e) { unsent.push(e.body); });
        sessionEnded(unsent.join("\n\n"));
      }
    });
  }

  function resend(entry) { send(entry); }

  function settlePending(id) {
    var entry = S.pending.get(id);
    if (!entry) return;
    S.pending.delete(id);
    if (entry.el && entry.el.parentNode) entry.el.remove();
  }

  function sendFile(file) {
    var types = { "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP", "application/pdf": "PDF" };
    var allowed = S.settings.attachmentTypes || [];
    if (allowed.indexOf(types[file.type]) < 0) {
      notify(t("fileType", { name: file.name, types: allowed.join(", ") }));
      return;
    }
    if (file.size > S.settings.maxAttachmentBytes) {
      notify(t("fileTooBig", { name: file.name, size: formatSize(S.settings.maxAttachmentBytes) }));
      return;
    }
    notify(null);
    var label = h("div", { "class": "uploading", role: "status", text: t("upload", { name: file.name, pct: 0 }) });
    var bar = h("i");
    var box = h("div", null, [label, h("div", { "class": "progress" }, [bar])]);
    el.uploads.appendChild(box);
    upload(file, function (pct) {
      bar.style.width = pct + "%";
      label.textContent = t("upload", { name: file.name, pct: pct });
    }).then(function (uploaded) {
      box.remove();
      var text = el.input.value.trim();
      el.input.value = "";
      send({ id: uuid(), body: text, attachmentIds: [uploaded.id] });
    }).catch(function (err) {
      box.remove();
      notify(sentence(err));
    });
  }

  function upload(file, progress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", API + "/attachments?conversationId=" + encodeURIComponent(S.session.conversationId) + "&name=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("authorization", "Bearer " + S.session.token);
      xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) progress(Math.round(ev.loaded * 100 / ev.total)); };
      xhr.onerror = function () { reject(new WidgetError("NETWORK")); };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status === 201 && body) { progress(100); resolve(body); return; }
        var b = body || {};
        var code = b.code || (b.errors && b.errors[0] && b.errors[0].extensions && b.errors[0].extensions.code) || (xhr.status === 413 ? "ATTACHMENT_TOO_LARGE" : "DEFAULT");
        reject(new WidgetError(code, b));
      };
      xhr.send(file);
    });
  }

  var typingSentAt = 0, typingTimer = null;
  function onTyping() {
    if (!S.session) return;
    var now = Date.now();
    if (!el.input.value.trim()) { stopTyping(); return; }
    if (now - typingSentAt > 3000) {
      typingSentAt = now;
      gql("mutation($id: UUID!) { setTyping(conversationId: $id, typing: true) }", { id: S.session.conversationId }, S.session.token).catch(function () { /* a hint only */ });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 5000);
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (!typingSentAt || !S.session) return;
    typingSentAt = 0;
    gql("mutation($id: UUID!) { setTyping(conversationId: $id, typing: false) }", { id: S.session.conversationId }, S.session.token).catch(function () { /* a hint only */ });
  }

  function showOperatorTyping(on) {
    clearTimeout(S.typingHide);
    S.operatorTyping = on;
    if (el.typing) el.typing.textContent = on ? t("typing", { name: (S.conversation && S.conversation.assigneeName) || t("someone") }) : "";
    if (on) S.typingHide = setTimeout(function () { showOperatorTyping(false); }, 8000);
  }

  function addMessage(m) {
    if (!m || m.internal) return;
    var known = S.messages.get(m.id);
    S.messages.set(m.id, m);
    if (S.lastPosition == null || m.position > S.lastPosition) S.lastPosition = m.position;
    var kind = m.sender && m.sender.kind;
    if (kind === "CONTACT" && !known) {
      // Our own message, committed, may come over the socket before its HTTP answer: it
      // replaces the bubble that was sending it.
      var adopted = false;
      S.pending.forEach(function (entry, id) { if (!adopted && entry.body === m.body && !entry.failed) { settlePending(id); adopted = true; } });
    }
    if (S.conversation && !known && (S.lastPosition === m.position)) S.conversation.lastMessage = { senderKind: kind };
    if (kind !== "CONTACT") {
      S.replied = S.replied || kind === "OPERATOR";
      showOperatorTyping(false);
    }
    if (el.msgs && el.msgs.isConnected) {
      var node = messageNode(m);
      var old = el.msgs.querySelector('[data-id="' + (window.CSS && window.CSS.escape ? window.CSS.escape(m.id) : m.id) + '"]');
      if (old) old.replaceWith(node);
      else {
        var after = Array.prototype.find.call(el.msgs.querySelectorAll("[data-position]"), function (n) { return Number(n.getAttribute("data-position")) > m.position; });
        el.msgs.insertBefore(node, after || el.msgs.querySelector("[data-pending]"));
      }
      scrollDown();
    }
    if (el.status) el.status.textContent = statusLine();
    if (!known) {
      emit("message", { id: m.id, body: m.body, sender: kind, postedAt: m.postedAt });
      if (kind !== "CONTACT") onInbound(m);
    }
  }

  function onInbound(m) {
    if (isShown()) markRead(m);
    else {
      setUnread(S.unread + 1);
      beep();
    }
  }

  function isShown() { return S.view === "open" && document.visibilityState === "visible" && S.screen === "thread"; }

  function markRead(m) {
    if (!S.session) return;
    var latest = m;
    if (!latest) S.messages.forEach(function (x) { if (x.sender.kind !== "CONTACT" && (!latest || x.position > latest.position)) latest = x; });
    if (!latest || (S.lastMarked != null && latest.position <= S.lastMarked)) { setUnread(0); return; }
    S.lastMarked = latest.position;
    setUnread(0);
    gql("mutation($input: MarkReadInput!) { markRead(input: $input) { changed } }", { input: { conversationId: S.session.conversationId, upToMessageId: latest.id } }, S.session.token)
      .catch(function (err) { S.lastMarked = null; console.warn(LOG + "could not mark read: " + err.code); });
  }

  function setUnread(n) {
    if (n === S.unread) return;
    S.unread = n;
    showUnread();
    if (S.ready) emit("unread", { count: n });
  }

  function showUnread() {
    var n = S.unread;
    if (el.bubble) { el.bubble.hidden = !n; el.bubble.textContent = n > 99 ? "99+" : String(n); }
    if (el.launcher) el.launcher.setAttribute("aria-label", n ? t("openChat") + " (" + t("unreadLabel", { n: n }) + ")" : t("openChat"));
  }

  var audio = null;
  function beep() {
    if (!S.sound) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.15);
    } catch (e) { /* no sound */ }
  }

  function toggleMenu() {
    var m = el.menu;
    if (!m.hidden) { m.hidden = true; el.more.setAttribute("aria-expanded", "false"); return; }
    el.more.setAttribute("aria-expanded", "true");
    m.textContent = "";
    var item = function (text, fn) { return h("button", { type: "button", role: "menuitem", text: text, onclick: function () { m.hidden = true; el.more.setAttribute("aria-expanded", "false"); fn(); } }); };
    if (!isEnded()) m.appendChild(item(t("callback"), function () { S.screen = "callback"; render(); }));
    if (S.settings.telegramAvailable && !isEnded()) m.appendChild(item(t("telegram"), continueInTelegram));
    m.appendChild(item(S.sound ? t("soundOff") : t("soundOn"), function () {
      S.sound = !S.sound;
      try { localStorage.setItem("switchboard:sound", S.sound ? "1" : "0"); } catch (e) { /* kept for this page */ }
      if (S.sound) beep();
    }));
    if (!isEnded()) m.appendChild(item(t("endChat"), endConversation));
    m.hidden = false;
    var first = m.querySelector("button");
    if (first) first.focus();
  }

  function continueInTelegram() {
    gql("mutation($id: UUID!) { linkTelegram(conversationId: $id) { url command } }", { id: S.session.conversationId }, S.session.token)
      .then(function (data) {
        var link = data.linkTelegram;
        if (link.url) window.open(link.url, "_blank", "noopener");
        else notify(t("telegramCommand", { command: link.command }));
      })
      .catch(function (err) { notify(sentence(err)); });
  }

  function endConversation() {
    gql("mutation($id: UUID!) { endConversation(conversationId: $id) { changed } }", { id: S.session.conversationId }, S.session.token)
      .then(function () { if (S.conversation) S.conversation.status = "RESOLVED"; render(); refreshConversation(); })
      .catch(function (err) { notify(sentence(err)); });
  }

  function focusComposer() { setTimeout(function () { if (el.input && el.input.isConnected) el.input.focus(); }, 0); }

  // ---------------------------------------------------------------------------------------
  // Loading a session: its history, then live data
  // ---------------------------------------------------------------------------------------
  function refreshConversation() {
    if (!S.session) return Promise.resolve();
    var session = S.session;
    return gql("{ myConversation { " + CONVERSATION_FIELDS + " } }", null, session.token).then(function (data) {
      if (S.session !== session) return;
      onConversation(data.myConversation);
    }).catch(function (err) { if (err.code === "UNAUTHENTICATED") sessionEnded(); });
  }

  function onConversation(c) {
    if (!c) return;
    var wasEnded = isEnded();
    S.conversation = c;
    if (el.status) el.status.textContent = statusLine();
    if (S.screen === "thread" && el.panel && !el.panel.hidden && wasEnded !== isEnded()) render();
    else if (S.screen === "thread" && wasEnded === isEnded() && isEnded()) renderEnd();
  }

  function loadHistory(after) {
    var session = S.session;
    return gql("query($id: UUID!, $after: String) { conversation(id: $id) { " + CONVERSATION_FIELDS + " messages(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { " + MESSAGE_FIELDS + " } } } }",
      { id: session.conversationId, after: after || null }, session.token).then(function (data) {
      if (S.session !== session) return;
      var c = data.conversation;
      if (!c) throw new WidgetError("CONVERSATION_NOT_FOUND");
      S.conversation = c;
      c.messages.nodes.forEach(function (m) {
        S.messages.set(m.id, m);
        if (S.lastPosition == null || m.position > S.lastPosition) S.lastPosition = m.position;
        if (S.livePosition == null || m.position > S.livePosition) S.livePosition = m.position;
        if (m.sender.kind === "OPERATOR") S.replied = true;
      });
      if (c.messages.pageInfo.hasNextPage) return loadHistory(c.messages.pageInfo.endCursor);
      setUnread(c.unreadCount || 0);
    });
  }

  function connectLive() {
    var session = S.session;
    if (S.live) S.live.stop();
    S.live = new Live(function () { return session.token; }, function () {
      if (S.session === session) { notify(null); refreshConversation(); }
    }, function (code) {
      if (S.session !== session) return;
      if (code === 4401) sessionEnded();
      else if (code === 4403) notify(t("errors.ORIGIN_NOT_ALLOWED"));
      else notify(t("reconnecting"));
    });
    var id = session.conversationId;
    S.live.subscribe("messages", "subscription($id: UUID!, $after: Int) { messagePosted(conversationId: $id, afterPosition: $after) { " + MESSAGE_FIELDS + " internal } }",
      function () { return { id: id, after: S.livePosition == null ? 0 : S.livePosition }; }, function (data) {
        var m = data.messagePosted;
        if (m && (S.livePosition == null || m.position > S.livePosition)) S.livePosition = m.position;
        addMessage(m);
      });
    S.live.subscribe("typing", "subscription($id: UUID!) { typing(conversationId: $id) { sender { kind } typing } }",
      function () { return { id: id }; }, function (data) { if (data.typing.sender.kind !== "CONTACT") showOperatorTyping(data.typing.typing); });
    S.live.subscribe("conversation", "subscription { myConversationChanged { " + CONVERSATION_FIELDS + " } }",
      function () { return {}; }, function (data) { onConversation(data.myConversationChanged); });
  }

  /** The session is no longer valid: back to the form, with what the visitor was sending. */
  function sessionEnded(unsent) {
    resetThread();
    saveSession(null);
    S.screen = "form";
    if (unsent) S.draft.form = { message: unsent };
    if (el.panel) render();
    notify(t("expired"));
  }

  function resume() {
    var session = loadSession();
    if (!session && S.user && S.user.identityHash) {
      // A signed-in user on a new device: their latest chat that has not ended.
      return gql("query($token: String!, $user: VisitorUserInput!) { myConversations(widgetToken: $token, user: $user, first: 5) { sessionToken conversation { id status } } }",
        { token: WIDGET_TOKEN, user: { id: S.user.id, identityHash: S.user.identityHash } })
        .then(function (data) {
          var open = data.myConversations.filter(function (x) { return x.conversation.status !== "CLOSED" && x.conversation.status !== "RESOLVED"; })[0];
          if (open) saveSession({ token: open.sessionToken, conversationId: open.conversation.id });
          return open ? resumeSession(S.session) : null;
        })
        .catch(function (err) { console.warn(LOG + "signed-in user: " + err.code); notify(sentence(err)); });
    }
    return session ? resumeSession(session) : Promise.resolve();
  }

  function resumeSession(session, attempt) {
    if (!attempt) resetThread();
    S.session = session;
    S.screen = "thread";
    return loadHistory().then(function () {
      if (S.session !== session) return;
      if (el.panel) render();
      connectLive();
    }).catch(function (err) {
      if (S.session !== session) return;
      if (err.code === "UNAUTHENTICATED" || err.code === "CONVERSATION_NOT_FOUND" || err.code === "FORBIDDEN") {
        resetThread();
        saveSession(null);
        S.screen = "form";
        if (el.panel) render();
      } else {
        // The history must come first (a subscription alone would start at the newest message):
        // try again, later and later, unless no retry can help.
        notify(sentence(err));
        if (err.code === "MESSENGER_DISABLED" || err.code === "INBOX_INACTIVE" || err.code === "CONTACT_ERASED") return;
        var n = (attempt || 0) + 1;
        setTimeout(function () { if (S.session === session) resumeSession(session, n).then(function () { if (S.session === session) notify(null); }); }, Math.min(30000, 1000 * Math.pow(2, n)));
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Open, close, and the public API
  // ---------------------------------------------------------------------------------------
  function open() {
    if (!el.panel || S.view === "open") return;
    S.view = "open";
    el.panel.hidden = false;
    el.launcher.setAttribute("aria-expanded", "true");
    el.launcher.hidden = window.matchMedia && window.matchMedia("(max-width: 520px)").matches;
    render();
    var first = el.panel.querySelector("input:not([tabindex='-1']):not([type=file]),textarea");
    if (first) first.focus(); else el.panel.querySelector("button").focus();
    if (S.screen === "thread") markRead(null);
    emit("open", {});
  }

  function close() {
    if (!el.panel || S.view !== "open" || FULLPAGE) return;
    S.view = "closed";
    stopTyping();
    keepDrafts();
    // Focus goes back to the button only if it was in the widget (the page may close it).
    var inside = host.shadowRoot.activeElement != null;
    el.panel.hidden = true;
    el.launcher.hidden = false;
    el.launcher.setAttribute("aria-expanded", "false");
    if (inside) el.launcher.focus();
    emit("close", {});
  }

  function toggle() { if (S.view === "open") close(); else open(); }

  document.addEventListener("visibilitychange", function () { if (isShown()) markRead(null); });

  var api = {
    version: 1,
    open: open,
    close: close,
    toggle: toggle,
    setLocale: function (locale) {
      if (!TEXTS[locale]) { console.warn(LOG + "no texts for locale " + locale + "; have ru, uk, en"); return; }
      S.locale = locale;
      if (root) { root.setAttribute("lang", locale); render(); }
    },
    setUser: function (user) {
      if (user != null && (typeof user !== "object" || !user.id)) { console.error(LOG + "setUser needs {id, identityHash, name?, email?, phone?}"); return; }
      var same = S.user && user && S.user.id === String(user.id);
      // Nothing one person typed or was prefilled with carries over to the next.
      if (!same) S.draft = { composer: "", form: {} };
      S.user = user ? { id: String(user.id), identityHash: user.identityHash || null, name: user.name, email: user.email, phone: user.phone } : null;
      if (!S.settings || same) { if (el.panel) render(); return; }
      resetThread();
      S.session = null;
      S.screen = "form";
      resume().then(function () { if (el.panel) render(); });
    },
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); if (name === "ready" && S.ready) fn({}); },
    off: function (name, fn) { listeners[name] = (listeners[name] || []).filter(function (x) { return x !== fn; }); },
    // A call queued as [name, ...args] after the script loaded works too.
    push: function (call) { if (Array.isArray(call) && typeof api[call[0]] === "function" && call[0] !== "push") api[call[0]].apply(null, call.slice(1)); },
    get unreadCount() { return S.unread; },
    get isOpen() { return S.view === "open"; }
  };
  window.Switchboard = api;
  queued.forEach(function (call) {
    if (Array.isArray(call) && typeof api[call[0]] === "function") api[call[0]].apply(null, call.slice(1));
  });

  // ---------------------------------------------------------------------------------------
  // Start: the inbox's settings, then the button
  // ---------------------------------------------------------------------------------------
  function boot() {
    var given = attr("data-session-token");
    var conversationId = attr("data-conversation-id");
    if (!WIDGET_TOKEN && !given) { console.error(LOG + "the script tag has no data-widget-token attribute: the widget is not shown."); return; }
    try { S.sound = localStorage.getItem("switchboard:sound") === "1"; } catch (e) { /* off */ }
    retrying(function () { return gql("query($token: String) { widgetSettings(widgetToken: $token) { inboxId title greeting color requiredFields visitorIdentity rating maxMessageChars maxAttachmentBytes attachmentTypes telegramAvailable availability { state message nextOpening } } }",
      { token: WIDGET_TOKEN }, WIDGET_TOKEN ? null : given); })
      .then(function (data) {
        S.settings = data.widgetSettings;
        if (given && conversationId) saveSession({ token: given, conversationId: conversationId });
        return resume();
      })
      .then(function () {
        if (!S.settings) return;
        mount();
        S.ready = true;
        emit("ready", { inboxId: S.settings.inboxId });
        if (S.unread) emit("unread", { count: S.unread });
        if (attr("data-open") === "true") open();
        setInterval(function () { if (S.view === "open" && document.visibilityState === "visible") refreshAvailability(); }, 60000);
      })
      .catch(function (err) {
        var why = {
          MESSENGER_DISABLED: "the chat is switched off (the widget API is disabled): no button is shown.",
          ORIGIN_NOT_ALLOWED: "this page's origin (" + location.origin + ") is not among the inbox's allowed origins: add it in the inbox's settings (allowedOrigins). No button is shown.",
          INVALID_WIDGET_TOKEN: "the widget token is not valid (rotated or mistyped): no button is shown.",
          INBOX_INACTIVE: "the inbox is switched off: no button is shown."
        }[err.code];
        if (err.code === "MESSENGER_DISABLED") console.info(LOG + why);
        else console.error(LOG + (why || "could not load the widget (" + err.code + "); no button is shown."));
      });
  }

  function refreshAvailability() {
    gql("query($token: String) { availability(widgetToken: $token) { state message nextOpening } }", { token: WIDGET_TOKEN }, WIDGET_TOKEN ? null : S.session && S.session.token)
      .then(function (data) {
        var before = JSON.stringify(S.settings.availability);
        S.settings.availability = data.availability;
        if (before !== JSON.stringify(data.availability) && el.banner) {
          el.banner.textContent = "";
          var banner = availabilityBanner();
          if (banner) el.banner.appendChild(banner);
        }
      })
      .catch(function () { /* the banner stays as it was */ });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
