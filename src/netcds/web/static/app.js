/* netcds web: progressive enhancement only. Every control works without this file. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function rowsOf(container) {
    return Array.prototype.slice.call(container.querySelectorAll(".row-item"));
  }

  function renumber(container) {
    rowsOf(container).forEach(function (row, i) {
      row.querySelectorAll(".row-number").forEach(function (el) {
        el.textContent = String(i + 1);
      });
    });
  }

  function addRow(group) {
    var tpl = document.getElementById("tpl-" + group);
    var container = document.getElementById("rows-" + group);
    if (!tpl || !container) {
      return false;
    }
    var next = 0;
    rowsOf(container).forEach(function (row) {
      var n = parseInt(row.getAttribute("data-index"), 10);
      if (!isNaN(n) && n >= next) {
        next = n + 1;
      }
    });
    var holder = document.createElement("div");
    holder.innerHTML = tpl.innerHTML.split("__INDEX__").join(String(next));
    var row = holder.querySelector(".row-item");
    if (!row) {
      return false;
    }
    container.appendChild(row);
    renumber(container);
    var first = row.querySelector("select, input, textarea");
    if (first) {
      first.focus();
    }
    return true;
  }

  function removeRow(button) {
    var row = button.closest(".row-item");
    if (!row) {
      return false;
    }
    var container = row.parentNode;
    var group = container.getAttribute("data-row-group");
    row.parentNode.removeChild(row);
    renumber(container);
    var add = document.querySelector('.js-add-row[data-group="' + group + '"]');
    if (add) {
      add.focus();
    }
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var button = target && target.closest ? target.closest("button") : null;
    if (!button) {
      return;
    }
    if (button.classList.contains("js-add-row")) {
      if (addRow(button.getAttribute("data-group"))) {
        event.preventDefault();
      }
    } else if (button.classList.contains("js-remove-row")) {
      if (removeRow(button)) {
        event.preventDefault();
      }
    } else if (button.classList.contains("js-print")) {
      event.preventDefault();
      window.print();
    }
  });

  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) {
      d.setAttribute("data-opened-for-print", "1");
      d.open = true;
    });
  });
  window.addEventListener("afterprint", function () {
    document.querySelectorAll("details[data-opened-for-print]").forEach(function (d) {
      d.removeAttribute("data-opened-for-print");
      d.open = false;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();
