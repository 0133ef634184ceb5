/** What is stored: the text as typed, without surrounding whitespace. */
export const cleanText = (text: string): string => text.trim();
