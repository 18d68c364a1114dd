import { createOutputTail } from '../../../src/build/output-tail.js';

const redact = (text: string) => text.replaceAll('s3cret', '[redacted]');

describe('createOutputTail', () => {
  it('keeps the last lines, blank ones only between others, as a trimmed tail shows them', () => {
    const tail = createOutputTail({ lines: 5, lineChars: 100, redact });
    for (const line of ['one', '', 'two', '', '  ', 'three', 'four', '', ' ']) tail.add(line);
    expect(tail.quote()).toEqual(['two', '', '', 'three', 'four']);
  });

  it('redacts a line before it cuts it, and says where it was cut', () => {
    const tail = createOutputTail({ lines: 5, lineChars: 10, redact });
    tail.add('ab s3cret tail');
    tail.add('s3cret');
    tail.addStart('[redacted] and on');
    expect(tail.quote()).toEqual(['ab [redact … [line cut]', '[redacted]', '[redacted] … [line cut]']);
  });
});
