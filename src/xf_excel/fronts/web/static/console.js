/* xf-excel console: progressive enhancements only. Every page works without this file.
   Text from the server is only ever set with textContent, never as HTML. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var csrf = document.body.getAttribute("data-csrf") || "";

  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }
  function sizeText(bytes) { return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB"; }

  // the period picker: go as soon as a period is chosen
  each("[data-period-pick] select", function (select) {
    select.addEventListener("change", function () { window.location.href = "/p/" + encodeURIComponent(select.value); });
  });

  // forms that ask first (撤销上次收取)
  each("form[data-confirm]", function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // one click per action: the button waits while the request is on its way
  each(".action-list form, form.inline", function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) { return; }          // the user said no to the question first
      var button = form.querySelector("button");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  });

  // taking returns in: drag and drop, limits checked before sending, upload progress
  each("form[data-upload]", function (form) {
    var input = form.querySelector("input[type=file]");
    var drop = form.querySelector("[data-drop]");
    var list = form.querySelector("[data-chosen]");
    var bar = form.querySelector("[data-upload-bar]");
    var progress = form.querySelector("[data-upload-progress]");
    var text = form.querySelector("[data-upload-text]");
    var error = form.querySelector("[data-upload-error]");
    var maxFiles = +form.getAttribute("data-max-files"), maxFile = +form.getAttribute("data-max-file");
    var maxTotal = +form.getAttribute("data-max-total");
    var chosen = [];

    function show(message) { error.textContent = message; error.hidden = !message; }
    function render() {
      list.textContent = "";
      chosen.forEach(function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + "（" + sizeText(file.size) + "）";
        list.appendChild(item);
      });
    }
    function add(files) {
      Array.prototype.forEach.call(files, function (file) { chosen.push(file); });
      show("");
      render();
    }
    function problem() {
      if (!chosen.length) { return "没有选择文件。请把报表文件拖到框内，或点击“选择文件”。"; }
      if (chosen.length > maxFiles) { return "一次最多上传 " + maxFiles + " 个文件，现在选择了 " + chosen.length + " 个；请分批上传。"; }
      var total = 0;
      for (var i = 0; i < chosen.length; i++) {
        if (chosen[i].size > maxFile) { return "文件“" + chosen[i].name + "”大小 " + sizeText(chosen[i].size) + "，超过单个文件 " + sizeText(maxFile) + " 的上限；本批文件均未上传。"; }
        total += chosen[i].size;
      }
      if (total > maxTotal) { return "本批文件合计 " + sizeText(total) + "，超过 " + sizeText(maxTotal) + " 的上限；请分几批上传。"; }
      return "";
    }

    input.addEventListener("change", function () { add(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files) { add(event.dataTransfer.files); }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var wrong = problem();
      if (wrong) { show(wrong); return; }
      var data = new FormData();
      chosen.forEach(function (file) { data.append("files", file, file.name); });
      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("action"));
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRF-Token", csrf);
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          progress.value = Math.round(100 * e.loaded / e.total);
          text.textContent = "上传中 " + progress.value + "%";
        }
      });
      request.addEventListener("load", function () {
        var answer = {};
        try { answer = JSON.parse(request.responseText); } catch (ignored) { answer = {}; }
        if (request.status === 200 && answer.job) { window.location.href = answer.job; return; }
        bar.hidden = true;
        form.querySelector("button[type=submit]").disabled = false;
        show(answer.error || ("上传未成功（" + request.status + "）；请刷新页面后重试。"));
      });
      request.addEventListener("error", function () {
        bar.hidden = true;
        form.querySelector("button[type=submit]").disabled = false;
        show("与服务器的连接中断，文件未收取；请检查网络后重试。");
      });
      bar.hidden = false;
      text.textContent = "上传中 0%";
      form.querySelector("button[type=submit]").disabled = true;
      request.send(data);
    });
  });

  // a running job: follow its progress, show the result when it is done
  each("[data-job]", function (panel) {
    if (panel.getAttribute("data-job-state") === "done" || panel.getAttribute("data-job-state") === "failed") { return; }
    var progress = panel.querySelector("[data-job-progress]");
    var text = panel.querySelector("[data-job-text]");
    function poll() {
      var request = new XMLHttpRequest();
      request.open("GET", panel.getAttribute("data-job"));
      request.addEventListener("load", function () {
        var state = {};
        try { state = JSON.parse(request.responseText); } catch (ignored) { state = {}; }
        if (state.state === "done" || state.state === "failed" || request.status === 404) { window.location.reload(); return; }
        if (state.total) {
          progress.max = state.total;
          progress.value = state.done;
          text.textContent = "已处理 " + state.done + " / " + state.total;
        }
        window.setTimeout(poll, 600);
      });
      request.addEventListener("error", function () { window.setTimeout(poll, 2000); });
      request.send();
    }
    window.setTimeout(poll, 300);
  });

  // copy buttons for the 催报 and 退回 texts
  function copy(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  }
  function fallback(text) {       // plain http on the office network: no clipboard API there
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.left = "-1000px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (ignored) { /* the text stays selectable on the page */ }
    document.body.removeChild(area);
  }
  each("[data-copy]", function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      copy(source.textContent, function () {
        button.textContent = "已复制";
        window.setTimeout(function () { button.textContent = "复制"; }, 1500);
      });
    });
  });

  // 报送情况: filter at once, without reloading (every row is on the page; the server hid the others)
  each("[data-filters]", function (form) {
    var shown = document.querySelector("[data-shown]");
    var city = form.querySelector("[data-city]");
    var groups = { all: null, missing: ["missing", "overdue"], rejected: ["rejected"], warned: ["warned"],
                   received: ["accepted", "warned"] };
    var current = form.querySelector("input[name=show]").value || "all";
    function matches(row, key) {
      var states = groups[key];
      return (!states || states.indexOf(row.getAttribute("data-state")) >= 0) &&
             (!city.value || row.getAttribute("data-city") === city.value);
    }
    function apply() {
      var rows = document.querySelectorAll("[data-status-table] tbody tr[data-state]"), count = 0;
      Array.prototype.forEach.call(rows, function (row) {
        row.hidden = !matches(row, current);
        if (!row.hidden) { count++; }
      });
      shown.textContent = count;
      each("[data-show]", function (tab) {
        var key = tab.getAttribute("data-show"), n = 0;
        Array.prototype.forEach.call(rows, function (row) { if (matches(row, key)) { n++; } });
        tab.querySelector("b").textContent = n;
        tab.classList.toggle("here", key === current);
      });
      var empty = document.querySelector("[data-status-empty]");
      if (empty) { empty.hidden = count > 0; }
      var query = "?show=" + encodeURIComponent(current) + (city.value ? "&city=" + encodeURIComponent(city.value) : "");
      window.history.replaceState(null, "", window.location.pathname + query);
    }
    each("[data-show]", function (tab) {
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        current = tab.getAttribute("data-show");
        form.querySelector("input[name=show]").value = current;
        apply();
      });
    });
    city.addEventListener("change", apply);
  });
})();
