import { type OptionValues, path } from '../command/option.js';
import { OUTPUT_OPTIONS } from '../command/shared-options.js';

/** `comms-cli report merge`: output options only. */
export const REPORT_MERGE_OPTIONS = { ...OUTPUT_OPTIONS };
export type ReportMergeValues = OptionValues<typeof REPORT_MERGE_OPTIONS>;

/** `comms-cli report html`: where the page goes. */
export const REPORT_HTML_OPTIONS = {
  output: path('-o, --output <file>', 'write the page here (default: report.html)'),
  ...OUTPUT_OPTIONS,
};
export type ReportHtmlValues = OptionValues<typeof REPORT_HTML_OPTIONS>;
