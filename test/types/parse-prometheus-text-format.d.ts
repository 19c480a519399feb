// parse-prometheus-text-format 1.1 ships no type declarations; this covers its one function.
declare module 'parse-prometheus-text-format' {
  namespace parsePrometheusTextFormat {
    interface ParsedSample {
      value?: string;
      labels?: Record<string, string>;
      buckets?: Record<string, string>;
      quantiles?: Record<string, string>;
      count?: string;
      sum?: string;
    }
    interface ParsedFamily {
      name: string;
      help: string;
      type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
      metrics: ParsedSample[];
    }
  }
  function parsePrometheusTextFormat(text: string): parsePrometheusTextFormat.ParsedFamily[];
  export = parsePrometheusTextFormat;
}
