import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSeparator } from '../lib/_checks.ts';
import { findSeparator, indexOfSequence } from '../lib/_separators.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (separators: readonly Uint8Array[]) => separators.map((s) => new TextDecoder().decode(s));

const normalize = suite('checkSeparator');

normalize('accepts bytes, strings and arrays, shortest first', () => {
  assert.equal(texts(checkSeparator(bytes('AAA'))), ['AAA']);
  assert.equal(texts(checkSeparator('\r\n')), ['\r\n']);
  assert.equal(texts(checkSeparator(['\r\n', bytes('\n'), 'END'])), ['\n', '\r\n', 'END']);
});

normalize('keeps the given order among separators of one length', () => {
  assert.equal(texts(checkSeparator(['b', 'a', 'cc', 'c'])), ['b', 'a', 'c', 'cc']);
});

normalize('encodes strings as UTF-8', () => {
  assert.equal([...checkSeparator('é')[0]!], [0xc3, 0xa9]);
});

normalize('refuses empty separators with CPython messages', () => {
  assert.throws(() => checkSeparator(''), (e: Error) => e instanceof RangeError && e.message === 'Separator should be at least one-byte string');
  assert.throws(() => checkSeparator(new Uint8Array(0)), /Separator should be at least one-byte string/);
  assert.throws(() => checkSeparator(['', 'a']), /Separator should be at least one-byte string/);
  assert.throws(() => checkSeparator([]), (e: Error) => e instanceof RangeError && e.message === 'Separator should contain at least one element');
});

normalize('refuses what is neither bytes nor a string', () => {
  assert.throws(() => checkSeparator(10 as never), (e: Error) => e instanceof TypeError && /number/.test(e.message));
  assert.throws(() => checkSeparator([null] as never), (e: Error) => e instanceof TypeError && /null/.test(e.message));
});

normalize.run();

const find = suite('findSeparator');

find('finds the match that ends first, even for a longer separator', () => {
  assert.equal(findSeparator(bytes('ABCDEFG'), 0, checkSeparator(['DEF', 'BCDE'])), { start: 1, end: 5 });
});

find('on a tie of ends reports the shorter separator', () => {
  assert.equal(findSeparator(bytes('ab\r\n'), 0, checkSeparator(['\r\n', '\n'])), { start: 3, end: 4 });
});

find('searches from the given index only', () => {
  assert.equal(findSeparator(bytes('a\nb\n'), 2, checkSeparator('\n')), { start: 3, end: 4 });
  assert.is(findSeparator(bytes('a\nb'), 2, checkSeparator('\n')), null);
});

find.run();

const sequence = suite('indexOfSequence');

sequence('skips false starts and partial matches', () => {
  assert.is(indexOfSequence(bytes('QWEaaXYaaa'), bytes('aaa'), 0), 7);
  assert.is(indexOfSequence(bytes('xxAA'), bytes('AAA'), 0), -1);
  assert.is(indexOfSequence(bytes('AAAA'), bytes('AAA'), 1), 1);
  assert.is(indexOfSequence(bytes('abc'), bytes('c'), 0), 2);
});

sequence.run();
