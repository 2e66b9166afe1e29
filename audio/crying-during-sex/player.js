// The player page's enhancements. Without this script the page still works: the
// chapter list links each chapter's own MP3 and the transcript is plain text.
//
// With it: chapter links become buttons that seek the player, every sentence of
// the transcript plays from where it starts, the chapter and sentence being heard
// are marked, and a polite status line names the chapter when it changes.
// Positions come from `currentTime` (on timeupdate and seeked), never from the
// chapter track's activeCues, which can lag a seek by seconds.
// There are no keyboard shortcuts: single keys belong to screen readers.
(function () {
  "use strict";

  var audio = document.getElementById("player");
  if (!audio || typeof audio.play !== "function") {
    return;
  }
  var status = document.getElementById("now-playing");
  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  var follow = document.getElementById("follow");

  function seconds(element, name) {
    return parseFloat(element.getAttribute(name));
  }

  function moveChildren(from, to) {
    while (from.firstChild) {
      to.appendChild(from.firstChild);
    }
  }

  // The last index whose start is at or before `time` (starts are ascending).
  function indexAt(starts, time) {
    var low = 0;
    var high = starts.length - 1;
    var found = -1;
    while (low <= high) {
      var middle = (low + high) >> 1;
      if (starts[middle] <= time + 0.0005) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  function playFrom(time) {
    audio.currentTime = time;
    update();
    var playing = audio.play();
    if (playing && typeof playing.catch === "function") {
      playing.catch(function () {
        // Playback refused (no audio device, or a policy): the position is still set.
      });
    }
  }

  // Chapters: each link becomes a button with the same content (title and start).
  var chapters = Array.prototype.map.call(
    document.querySelectorAll(".chapter-list > .chapter"),
    function (item) {
      var link = item.querySelector(".chapter-link");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "chapter-button";
      moveChildren(link, button);
      link.replaceWith(button);
      var chapter = {
        start: seconds(item, "data-start"),
        title: item.getAttribute("data-title"),
        button: button,
      };
      button.addEventListener("click", function () {
        playFrom(chapter.start);
      });
      return chapter;
    }
  );
  var chapterStarts = chapters.map(function (chapter) { return chapter.start; });

  // Sentences: each becomes a link to itself that plays from its start.
  var sentences = Array.prototype.map.call(
    document.querySelectorAll(".transcript .sentence"),
    function (element) {
      var link = document.createElement("a");
      link.className = "sentence-link";
      link.href = "#" + element.id;
      moveChildren(element, link);
      element.appendChild(link);
      var sentence = { start: seconds(element, "data-start"), element: element, link: link };
      link.addEventListener("click", function (event) {
        event.preventDefault();
        if (window.history && history.replaceState) {
          history.replaceState(null, "", "#" + element.id);
        }
        playFrom(sentence.start);
      });
      return sentence;
    }
  );
  var sentenceStarts = sentences.map(function (sentence) { return sentence.start; });

  var currentChapter = -1;
  var currentSentence = -1;

  function markChapter(index) {
    if (index === currentChapter) {
      return;
    }
    if (currentChapter >= 0) {
      chapters[currentChapter].button.removeAttribute("aria-current");
    }
    currentChapter = index;
    if (index < 0) {
      return;
    }
    var chapter = chapters[index];
    chapter.button.setAttribute("aria-current", "true");
    if (status) {
      status.textContent = "Chapter " + (index + 1) + " of " + chapters.length + ": " +
        chapter.title;
    }
  }

  function inView(element) {
    var box = element.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  }

  function markSentence(index) {
    if (index === currentSentence) {
      return;
    }
    if (currentSentence >= 0) {
      var previous = sentences[currentSentence];
      previous.element.classList.remove("is-current");
      previous.link.removeAttribute("aria-current");
    }
    currentSentence = index;
    if (index < 0) {
      return;
    }
    var sentence = sentences[index];
    sentence.element.classList.add("is-current");
    sentence.link.setAttribute("aria-current", "true");
    // Scrolling (never focus) follows the audio only when the listener asked for it.
    if (follow && follow.checked && !audio.paused && !inView(sentence.element)) {
      sentence.element.scrollIntoView({
        block: "center",
        behavior: reducedMotion.matches ? "auto" : "smooth",
      });
    }
  }

  function update() {
    var time = audio.currentTime;
    markChapter(indexAt(chapterStarts, time));
    markSentence(indexAt(sentenceStarts, time));
  }

  audio.addEventListener("timeupdate", function () {
    // Loading the media fires timeupdate too; nothing is playing then.
    if (!audio.paused) {
      update();
    }
  });
  audio.addEventListener("seeked", update);
  audio.addEventListener("play", update);

  // Back and forward buttons, and the speed menu.
  Array.prototype.forEach.call(document.querySelectorAll("[data-skip]"), function (button) {
    var step = parseFloat(button.getAttribute("data-skip"));
    button.addEventListener("click", function () {
      var end = isFinite(audio.duration) ? audio.duration : Infinity;
      audio.currentTime = Math.min(Math.max(0, audio.currentTime + step), end);
      update();
    });
  });
  var speed = document.getElementById("speed");
  if (speed) {
    speed.addEventListener("change", function () {
      var rate = parseFloat(speed.value);
      audio.defaultPlaybackRate = rate;
      audio.playbackRate = rate;
    });
    audio.addEventListener("ratechange", function () {
      var value = String(audio.playbackRate);
      if (Array.prototype.some.call(speed.options, function (o) { return o.value === value; })) {
        speed.value = value;
      }
    });
  }

  // A link to a sentence (page.html#c03s002) starts the player there, without playing.
  var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  if (target && target.classList.contains("sentence")) {
    audio.currentTime = seconds(target, "data-start");
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-enhanced]"), function (element) {
    element.hidden = false;
  });
})();
