// Enhances a page that works without it: a Copy button beside each read-only link field
// (input[data-copy], labels from data-copy-label and data-copied-label) and the system's share
// sheet where the browser has one (a[data-share] opens it with the link's text and URL).
(function () {
  "use strict";
  var status = document.getElementById("copy-status");
  function say(text) {
    if (status) { status.textContent = ""; setTimeout(function () { status.textContent = text; }, 50); }
  }
  document.querySelectorAll("input[data-copy]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = input.getAttribute("data-copy-label");
    button.addEventListener("click", function () {
      input.focus();
      input.select();
      var done = function () { say(input.getAttribute("data-copied-label")); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
    input.insertAdjacentElement("afterend", button);
  });
  if (navigator.share) {
    document.querySelectorAll("[data-share]").forEach(function (el) {
      el.hidden = false;
      el.addEventListener("click", function (e) {
        e.preventDefault();
        navigator.share({ text: el.getAttribute("data-share-text"), url: el.getAttribute("data-share-url") }).catch(function () {});
      });
    });
  }
})();
