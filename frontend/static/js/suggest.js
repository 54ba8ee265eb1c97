// New-ticket form: when the page is left without sending the form, tell the server (the
// requester may have found the answer in a suggested article). sendBeacon survives the
// page being closed; the CSRF token travels in the form data like in any form post.
(() => {
  const form = document.querySelector("form[data-suggestions]");
  if (!form) return;
  let submitted = false;
  form.addEventListener("submit", () => { submitted = true; });
  window.addEventListener("pagehide", () => {
    if (submitted || !navigator.sendBeacon) return;
    const data = new FormData();
    data.append("token", form.querySelector("[name=suggestion_token]").value);
    data.append("outcome", "abandoned");
    data.append("_csrf_token", form.querySelector("[name=_csrf_token]").value);
    navigator.sendBeacon("/suggestions/end", data);
  });
})();
