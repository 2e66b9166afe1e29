// The player page's enhancements. Without this script the page still works: the
// chapter list links each chapter's own MP3 and the transcript is plain text.
//
// With it: chapter links become buttons that seek the player, every sentence of
// the transcript plays from where it starts, the chapter and sentence being heard
// are marked, and a polite status line names the chapter when it changes. A listener
// who turns on "highlight each word" (remembered in localStorage) also sees the word
// being spoken marked inside the current sentence: nothing is announced for it and
// focus never moves.
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
  var highlightWords = document.getElementById("highlight-words");
  var WORDS_SETTING = "audioguide.highlight-words";

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
      var sentence = {
        start: seconds(element, "data-start"),
        element: element,
        link: link,
        words: null,
      };
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

  // "offset:length:start:end" per word (offsets in UTF-16 units of the sentence's text).
  function wordsOf(sentence) {
    if (sentence.words === null) {
      var places = (sentence.element.getAttribute("data-words") || "").split(" ");
      sentence.words = places.filter(Boolean).map(function (place) {
        var parts = place.split(":");
        return {
          offset: parseInt(parts[0], 10),
          length: parseInt(parts[1], 10),
          start: parseFloat(parts[2]),
        };
      });
      sentence.wordStarts = sentence.words.map(function (word) { return word.start; });
    }
    return sentence.words;
  }

  var markedWord = null; // { sentence, index, element }

  function clearWord() {
    if (markedWord === null) {
      return;
    }
    var element = markedWord.element;
    var parent = element.parentNode;
    if (parent) {
      while (element.firstChild) {
        parent.insertBefore(element.firstChild, element);
      }
      parent.removeChild(element);
      parent.normalize();
    }
    markedWord = null;
  }

  // A range over characters `offset` to `offset + length` of the element's text.
  function textRange(element, offset, length) {
    var walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    var range = document.createRange();
    var at = 0;
    var started = false;
    var node;
    while ((node = walker.nextNode())) {
      var size = node.data.length;
      if (!started && offset <= at + size) {
        range.setStart(node, offset - at);
        started = true;
      }
      if (started && offset + length <= at + size) {
        range.setEnd(node, offset + length - at);
        return range;
      }
      at += size;
    }
    return null;
  }

  function markWord(time) {
    var wanted = highlightWords && highlightWords.checked && currentSentence >= 0;
    var sentence = wanted ? sentences[currentSentence] : null;
    var index = sentence && wordsOf(sentence).length ?
      indexAt(sentence.wordStarts, time) : -1;
    if (markedWord && markedWord.sentence === sentence && markedWord.index === index) {
      return;
    }
    clearWord();
    if (index < 0) {
      return;
    }
    var word = sentence.words[index];
    var range = textRange(sentence.link, word.offset, word.length);
    if (range === null) {
      return;
    }
    var element = document.createElement("span");
    element.className = "word-current";
    element.appendChild(range.extractContents());
    range.insertNode(element);
    markedWord = { sentence: sentence, index: index, element: element };
  }

  // Words change faster than timeupdate fires (about four times a second), so while
  // playing with word highlighting on, each frame checks the position.
  var frameRequested = false;

  function followWords() {
    frameRequested = false;
    markWord(audio.currentTime);
    if (!audio.paused && highlightWords && highlightWords.checked) {
      frameRequested = true;
      window.requestAnimationFrame(followWords);
    }
  }

  function startFollowingWords() {
    if (!frameRequested) {
      followWords();
    }
  }

  if (highlightWords) {
    try {
      highlightWords.checked = window.localStorage.getItem(WORDS_SETTING) === "on";
    } catch (error) {
      // Storage refused (private browsing, a policy): the setting is not remembered.
    }
    highlightWords.addEventListener("change", function () {
      try {
        window.localStorage.setItem(WORDS_SETTING, highlightWords.checked ? "on" : "off");
      } catch (error) {
        // As above: the setting holds for this visit only.
      }
      startFollowingWords();
    });
  }

  function update() {
    var time = audio.currentTime;
    markChapter(indexAt(chapterStarts, time));
    markSentence(indexAt(sentenceStarts, time));
    markWord(time);
  }

  audio.addEventListener("timeupdate", function () {
    // Loading the media fires timeupdate too; nothing is playing then.
    if (!audio.paused) {
      update();
    }
  });
  audio.addEventListener("seeked", update);
  audio.addEventListener("play", update);
  audio.addEventListener("playing", startFollowingWords);

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
