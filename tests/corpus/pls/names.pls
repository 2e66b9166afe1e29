<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="x-espeak" xml:lang="en-US">
  <lexeme>
    <grapheme>Shadeen</grapheme>
    <alias>Shuh-deen</alias>
  </lexeme>
  <lexeme>
    <grapheme>tristesse</grapheme>
    <phoneme>tri:st'Es</phoneme>
  </lexeme>
  <lexeme>
    <grapheme>Nguyen</grapheme>
    <grapheme>NGUYEN</grapheme>
    <phoneme alphabet="ipa">ˈwɪn</phoneme>
  </lexeme>
  <lexeme>
    <grapheme>Unheard</grapheme>
    <alias>never said &amp; never heard</alias>
  </lexeme>
</lexicon>
